"""A real MLflow tracking server on loopback (SQLite backend store), and helpers that log to it the way a
training pipeline does, through MLflow's own client."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before MLflow is imported anywhere: the tests send nothing to MLflow's telemetry.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag

STARTUP_TIMEOUT_S = 180  # the first start creates MLflow's schema in SQLite, which takes a while on a busy machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(directory: Path) -> Iterator[str]:
    """``mlflow server`` in its own process group (it starts uvicorn workers), stopped whole afterwards."""
    port = _free_port()
    log = (directory / "server.log").open("wb")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{directory / 'mlflow.db'}",
            "--default-artifact-root",
            str(directory / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(uri, process, directory / "server.log")
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_healthy(uri: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{uri}/health", timeout=2) as response,  # noqa: S310 - loopback
        ):
            if response.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not answer within {STARTUP_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")


class Pipeline:
    """Logs runs and registers model versions in MLflow as a fine-tuning pipeline would."""

    def __init__(self, uri: str) -> None:
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.experiment_id = self.client.create_experiment(f"fine-tuning-{uuid.uuid4().hex[:8]}")

    def run(
        self,
        *,
        datasets: list[tuple[str, str]],
        tags: dict[str, str],
        params: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        finish: bool = True,
    ) -> str:
        """A run trained on ``datasets`` (MLflow name, MLflow digest), with an evaluation set beside them."""
        import pandas as pd

        run = self.client.create_run(self.experiment_id, run_name="lora-sft")
        run_id = run.info.run_id
        params = (
            {"learning_rate": "0.0002", "lora_r": "16", "epochs": "3", "seed": "1234"} if params is None else params
        )
        metrics = {"eval_loss": 0.91, "train_loss": 0.72} if metrics is None else metrics
        self.client.log_batch(
            run_id,
            metrics=[Metric(key, value, int(time.time() * 1000), 0) for key, value in metrics.items()],
            params=[Param(key, value) for key, value in params.items()],
            tags=[RunTag(key, value) for key, value in tags.items()],
        )
        frame = pd.DataFrame({"prompt": ["Why was I charged twice?"], "response": ["Let me check the invoice."]})
        inputs = [
            DatasetInput(
                mlflow.data.from_pandas(
                    frame, source=f"s3://corpora/{name}", name=name, digest=digest
                )._to_mlflow_entity(),
                tags=[InputTag("mlflow.data.context", "training")],
            )
            for name, digest in datasets
        ]
        evaluation = mlflow.data.from_pandas(frame, name="billing-eval")  # MLflow computes its own digest
        inputs.append(DatasetInput(evaluation._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "eval")]))
        self.client.log_inputs(run_id, datasets=inputs)
        if finish:
            self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def register(self, model: str, run_id: str, *, tags: dict[str, str] | None = None) -> str:
        """A new version of ``model`` from the run; the registered model is created on first use."""
        if not self.client.search_registered_models(filter_string=f"name = '{model}'"):
            self.client.create_registered_model(model)
        version = self.client.create_model_version(model, source=f"runs:/{run_id}/model", run_id=run_id, tags=tags)
        return version.version
