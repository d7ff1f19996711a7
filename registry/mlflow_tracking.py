"""Reading registered model versions and their runs from an MLflow tracking server.

Everything an import needs is read first, into plain frozen snapshots, before the portal's database is touched:
a tracking server that fails half-way through then costs nothing but a clear error. The MLflow client is
imported only here and only when a read happens (``mlflow-skinny``, the ``mlflow`` extra), so the portal runs
without it.
"""

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: MLflow's own defaults retry an unreachable server for minutes; a command should say so within seconds. And
#: the portal's records are nobody else's business: MLflow's usage telemetry stays off. Values already set in the
#: environment win.
_CLIENT_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
_PAGE_SIZE = 200


class TrackingError(Exception):
    """The tracking server cannot be read (wrong URI, unreachable, refused), or MLflow is not installed."""


class ModelNotFound(TrackingError):
    """The tracking server has no registered model of that name."""


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run logged with ``mlflow.log_input``: MLflow's name and digest, and what it was used for."""

    name: str
    digest: str
    source_type: str
    source: str
    context: str


@dataclass(frozen=True)
class RunSnapshot:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    inputs: tuple[DatasetInput, ...]


@dataclass(frozen=True)
class VersionSnapshot:
    """One registered model version as MLflow holds it, with the run that produced it (``None`` if it has none
    or the run is gone)."""

    model_name: str
    version: int
    status: str
    source: str
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str = ""
    run: RunSnapshot | None = None

    @property
    def reference(self) -> str:
        """MLflow's own URI of the version, kept on the imported model version: ``models:/NAME/VERSION``."""
        return f"models:/{self.model_name}/{self.version}"


def check_tracking_uri(uri: str) -> str:
    """Only an ``http(s)`` tracking server: given a mistyped local path, MLflow would quietly create an empty
    store there and report that the model does not exist."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TrackingError(f"{uri!r} is not the http(s) URL of an MLflow tracking server (http://host:5000).")
    return uri.strip().rstrip("/")


@contextlib.contextmanager
def _client_environment() -> Iterator[None]:
    added = {name: value for name, value in _CLIENT_DEFAULTS.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _utc(milliseconds: int | None) -> datetime.datetime | None:
    if not milliseconds:
        return None
    return datetime.datetime.fromtimestamp(milliseconds / 1000, tz=datetime.UTC)


def _run_snapshot(run: Any) -> RunSnapshot:
    inputs = []
    for dataset_input in getattr(run.inputs, "dataset_inputs", None) or []:
        dataset = dataset_input.dataset
        tags = {tag.key: tag.value for tag in dataset_input.tags or []}
        inputs.append(
            DatasetInput(
                name=dataset.name or "",
                digest=dataset.digest or "",
                source_type=dataset.source_type or "",
                source=dataset.source or "",
                context=tags.get("mlflow.data.context", ""),
            )
        )
    return RunSnapshot(
        run_id=run.info.run_id,
        experiment_id=str(run.info.experiment_id),
        run_name=run.info.run_name or "",
        status=run.info.status,
        started_at=_utc(run.info.start_time),
        finished_at=_utc(run.info.end_time),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=dict(run.data.tags),
        inputs=tuple(inputs),
    )


def _name_filter(model_name: str) -> str:
    if "'" not in model_name:
        return f"name = '{model_name}'"
    if '"' not in model_name:
        return f'name = "{model_name}"'
    raise TrackingError(f"Model names with both kinds of quote cannot be searched: {model_name!r}.")


def read_model_versions(tracking_uri: str, model_name: str) -> list[VersionSnapshot]:
    """Every version of the registered model ``model_name``, oldest first, each with its run."""
    uri = check_tracking_uri(tracking_uri)
    with _client_environment():
        try:
            from mlflow import MlflowClient
            from mlflow.exceptions import MlflowException, RestException
        except ImportError:
            raise TrackingError(
                "The MLflow client is not installed: pip install 'llm-governance-portal[mlflow]'."
            ) from None
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            client.get_registered_model(model_name)
        except RestException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise ModelNotFound(f"{uri} has no registered model {model_name!r}.") from None
            raise TrackingError(f"{uri} refused to show {model_name!r}: {error.message}") from None
        except MlflowException as error:
            raise TrackingError(f"Cannot read the MLflow tracking server at {uri}: {error.message}") from None
        try:
            found, token = [], None
            while True:
                page = client.search_model_versions(
                    _name_filter(model_name), max_results=_PAGE_SIZE, order_by=["version_number ASC"], page_token=token
                )
                found.extend(page)
                token = page.token
                if not token:
                    break
            runs: dict[str, RunSnapshot | None] = {}
            versions = []
            for version in found:
                run_id = version.run_id or ""
                if run_id and run_id not in runs:
                    runs[run_id] = _read_run(client, run_id, RestException)
                versions.append(
                    VersionSnapshot(
                        model_name=version.name,
                        version=int(version.version),
                        status=version.status or "",
                        source=version.source or "",
                        description=version.description or "",
                        tags=dict(version.tags or {}),
                        run_id=run_id,
                        run=runs.get(run_id),
                    )
                )
        except MlflowException as error:
            raise TrackingError(f"Reading {model_name!r} from {uri} failed: {error.message}") from None
    return sorted(versions, key=lambda snapshot: snapshot.version)


def _read_run(client: Any, run_id: str, rest_exception: type[Exception]) -> RunSnapshot | None:
    try:
        return _run_snapshot(client.get_run(run_id))
    except rest_exception as error:
        if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
