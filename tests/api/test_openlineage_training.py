"""OpenLineage training jobs at /api/v1/lineage: a job whose jobType is TRAINING registers, completes or fails a
registry training run, from the ``portal_training`` run facet and the event's input dataset versions."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import attr
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    source_code_location_job,
)
from openlineage.client.generated.base import RunFacet
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from audit.models import LedgerEntry
from lineage.models import OpenLineageRun
from lineage.openlineage import training as training_jobs
from registry.models import TrainingRun
from tests.api.conftest import ACCOUNT_USERNAME, Pipeline, by_service_account
from tests.api.test_openlineage import COMMIT, PRODUCER, send, sha
from tests.registry.conftest import World

REPOSITORY = "https://git.example.com/ml/support-assistant"
WEIGHTS = sha("weights")
IMAGE = f"sha256:{sha('image')}"


@attr.define
class PortalTrainingRunFacet(RunFacet):
    """The portal's custom run facet, as a pipeline declares it for the client (``None`` fields are not sent)."""

    useCase: str | None = attr.field(default=None)  # OpenLineage facets are camelCase
    baseModel: dict[str, Any] | None = attr.field(default=None)
    config: dict[str, Any] | None = attr.field(default=None)
    hyperparameters: dict[str, Any] | None = attr.field(default=None)
    randomSeeds: dict[str, Any] | None = attr.field(default=None)
    hardware: str | None = attr.field(default=None)
    containerImageDigest: str | None = attr.field(default=None)
    libraryVersions: dict[str, Any] | None = attr.field(default=None)
    decisionLog: str | None = attr.field(default=None)
    outputWeightsDigest: str | None = attr.field(default=None)
    metrics: dict[str, Any] | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return "https://portal.example.com/spec/facets/PortalTrainingRunFacet.json"


@pytest.fixture
def trainer(world: World, issue: Callable[..., Pipeline]) -> Pipeline:
    return issue(scopes=["lineage:write", "runs:write"])


def start_facet(world: World, **overrides: Any) -> PortalTrainingRunFacet:
    base = world.base_model
    values: dict[str, Any] = {
        "useCase": "support-assistant",
        "baseModel": {"provider": base.provider, "name": base.name, "version": base.version},
        "config": {"lora": {"r": 16, "alpha": 32}, "epochs": 3},
        "hyperparameters": {"learning_rate": 0.0002, "batch_size": 16},
        "randomSeeds": {"torch": 1234, "data_order": 99},
        "hardware": "8x A100 80GB",
        "containerImageDigest": IMAGE,
        "libraryVersions": {"torch": "2.3.1", "transformers": "4.44.0"},
        "decisionLog": "LoRA on the approved support chats; three epochs kept the validation loss falling.",
        **overrides,
    }
    return PortalTrainingRunFacet(**values)


def complete_facet() -> PortalTrainingRunFacet:
    return PortalTrainingRunFacet(outputWeightsDigest=WEIGHTS, metrics={"eval_loss": 0.41})


def training_job(job_type: str = "TRAINING", **location: str) -> Job:
    return Job(
        namespace="support-training",
        name="fine_tune_support_assistant",
        facets={
            "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="PYTORCH", jobType=job_type),
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                **{"type": "git", "url": REPOSITORY, "version": COMMIT, **location}
            ),
        },
    )


def data(version: str = "1", name: str = "support-chats") -> InputDataset:
    return InputDataset(
        namespace="s3://corpus",
        name=name,
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)},
    )


def training_event(state: RunState, run_id: str, facets: dict[str, Any] | None = None, **overrides: Any) -> RunEvent:
    values: dict[str, Any] = {
        "eventType": state,
        "eventTime": "2026-11-02T09:30:00+00:00",
        "run": Run(runId=run_id, facets=facets or {}),
        "job": training_job(),
        "producer": PRODUCER,
        "inputs": [data()] if state == RunState.START else [],
        "outputs": [],
        **overrides,
    }
    return RunEvent(**values)


def start(world: World, run_id: str, **overrides: Any) -> RunEvent:
    return training_event(RunState.START, run_id, {"portal_training": start_facet(world)}, **overrides)


def as_dict(run_event: RunEvent) -> dict[str, Any]:
    return json.loads(Serde.to_json(run_event))


def denials() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action="denied", actor_name=ACCOUNT_USERNAME).order_by("sequence"))


# -- the real client against a live server ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_client_reports_a_training_job_which_becomes_a_completed_training_run(live_server, world, trainer):
    transport = HttpTransport(
        HttpConfig(url=live_server.url, auth=ApiKeyTokenProvider({"apiKey": trainer.secret}), retry={"total": 0})
    )
    client = OpenLineageClient(transport=transport)
    run_id = str(uuid.uuid4())

    client.emit(start(world, run_id))
    run = TrainingRun.objects.get(run_id=run_id)
    assert run.status == "running"

    client.emit(training_event(RunState.COMPLETE, run_id, {"portal_training": complete_facet()}))
    run.refresh_from_db()
    assert run.status == "completed"
    assert (run.use_case, run.base_model) == (world.use_case, world.base_model)
    assert (run.code_repository, run.code_commit) == (REPOSITORY, COMMIT)
    assert run.config == {"lora": {"r": 16, "alpha": 32}, "epochs": 3}
    assert run.hyperparameters == {"learning_rate": 0.0002, "batch_size": 16}
    assert run.random_seeds == {"torch": 1234, "data_order": 99}
    assert (run.hardware, run.container_image_digest) == ("8x A100 80GB", IMAGE)
    assert run.library_versions == {"torch": "2.3.1", "transformers": "4.44.0"}
    assert run.decision_log.startswith("LoRA on the approved support chats")
    assert (run.output_weights_digest, run.metrics) == (WEIGHTS, {"eval_loss": 0.41})
    assert run.started_at.isoformat() == "2026-11-02T09:30:00+00:00"
    assert [version.identifier for version in run.dataset_versions.select_related("dataset")] == ["support-chats@1"]
    assert run.registered_by.username == ACCOUNT_USERNAME
    openlineage_run = OpenLineageRun.objects.get(run_id=run_id)
    assert (openlineage_run.state, openlineage_run.received) == ("COMPLETE", ["COMPLETE", "START"])
    assert not openlineage_run.dataset_versions.exists()  # a training job makes no dataset version
    assert by_service_account(
        list(LedgerEntry.objects.filter(object_type="registry.trainingrun", object_id=str(run.pk)))
    )


# -- through the test client -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_training_on_data_not_approved_is_409_naming_the_version_and_writes_nothing(world, trainer):
    run_id = str(uuid.uuid4())
    response = send(trainer, start(world, run_id, inputs=[data("1"), data("2")]))
    assert response.status_code == 409
    reasons = response.json()["reasons"]
    assert any("support-chats@2" in reason for reason in reasons)
    assert not any("support-chats@1 " in reason for reason in reasons)
    assert not TrainingRun.objects.filter(run_id=run_id).exists()
    assert not OpenLineageRun.objects.filter(run_id=run_id).exists()
    (denial,) = denials()
    assert denial.payload["attempted"] == "training_run_register"
    assert denial.object_type == "governance.usecase"


@pytest.mark.django_db
def test_the_same_start_twice_registers_one_run(world, trainer):
    run_id = str(uuid.uuid4())
    first = send(trainer, start(world, run_id))
    assert first.status_code == 201, first.json()
    again = send(trainer, start(world, run_id))
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    assert TrainingRun.objects.filter(run_id=run_id).count() == 1
    assert OpenLineageRun.objects.get(run_id=run_id).received == ["START"]


@pytest.mark.django_db
def test_a_token_without_the_training_scope_is_403_and_recorded(world, issue):
    lineage_only = issue(scopes=["lineage:write"])
    run_id = str(uuid.uuid4())
    response = send(lineage_only, start(world, run_id))
    assert response.status_code == 403
    assert "runs:write" in response.json()["detail"]
    (denial,) = denials()
    assert denial.payload["attempted"] == "api runs:write"
    assert not TrainingRun.objects.exists()
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_token_for_another_use_case_is_403_and_recorded(world, issue):
    elsewhere = issue(scopes=["lineage:write", "runs:write"], use_cases=("wealth-chatbot",))
    response = send(elsewhere, start(world, str(uuid.uuid4())))
    assert response.status_code == 403
    assert "use case" in response.json()["detail"]
    (denial,) = denials()
    assert (denial.object_type, denial.payload["attempted"]) == ("governance.usecase", "training_run_register")
    assert not TrainingRun.objects.exists()
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_training_start_without_the_facet_is_400_naming_it(world, trainer):
    response = send(trainer, training_event(RunState.START, str(uuid.uuid4())))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "Missing" in errors["run.facets.portal_training"][0]
    assert "portal_training" in errors["job.facets.jobType"][0]
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_malformed_facet_is_400_naming_each_field(world, trainer):
    body = as_dict(start(world, str(uuid.uuid4())))
    facet = body["run"]["facets"]["portal_training"]
    facet["config"] = "epochs=3"
    facet["baseModel"] = {"provider": "nobody", "name": "nothing", "version": "0"}
    del facet["hardware"]
    facet["useCase"] = "no-such-use-case"
    response = send(trainer, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        f"run.facets.portal_training.{name}" for name in ("config", "baseModel", "hardware", "useCase")
    }
    assert "register it first" in errors["run.facets.portal_training.baseModel"][0]
    assert not TrainingRun.objects.exists()
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_facet_that_is_not_an_object_is_400(world, trainer):
    body = as_dict(start(world, str(uuid.uuid4())))
    body["run"]["facets"]["portal_training"] = ["not", "an", "object"]
    response = send(trainer, body)
    assert response.status_code == 400
    assert "run.facets.portal_training" in response.json()["errors"]


@pytest.mark.django_db
def test_a_training_job_without_its_commit_is_400_naming_the_source_code_location(world, trainer):
    job_without_commit = training_job(version=None)  # type: ignore[arg-type]
    response = send(trainer, start(world, str(uuid.uuid4()), job=job_without_commit))
    assert response.status_code == 400
    assert "commit" in response.json()["errors"]["job.facets.sourceCodeLocation.version"][0]
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_training_on_data_the_portal_does_not_govern_is_400_naming_the_input(world, trainer):
    stray = InputDataset(namespace="s3://scratch", name="downloaded-chats")
    response = send(trainer, start(world, str(uuid.uuid4()), inputs=[data(), stray]))
    assert response.status_code == 400
    assert "dataset versions only" in response.json()["errors"]["inputs[1].name"][0]
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_a_complete_without_the_output_weights_is_400_and_the_run_keeps_running(world, trainer):
    run_id = str(uuid.uuid4())
    assert send(trainer, start(world, run_id)).status_code == 201
    no_weights = PortalTrainingRunFacet(metrics={"eval_loss": 0.41})
    response = send(trainer, training_event(RunState.COMPLETE, run_id, {"portal_training": no_weights}))
    assert response.status_code == 400
    assert "run.facets.portal_training.outputWeightsDigest" in response.json()["errors"]
    assert TrainingRun.objects.get(run_id=run_id).status == "running"
    assert OpenLineageRun.objects.get(run_id=run_id).state == "START"


@pytest.mark.django_db
def test_a_failed_training_job_marks_its_run_failed(world, trainer):
    run_id = str(uuid.uuid4())
    assert send(trainer, start(world, run_id)).status_code == 201
    error = error_message_run.ErrorMessageRunFacet(message="CUDA out of memory", programmingLanguage="python")
    response = send(trainer, training_event(RunState.FAIL, run_id, {"errorMessage": error}))
    assert response.status_code == 201, response.json()
    run = TrainingRun.objects.get(run_id=run_id)
    assert run.status == "failed"
    assert run.history.latest().history_change_reason == "FAIL: CUDA out of memory"
    assert OpenLineageRun.objects.get(run_id=run_id).state == "FAIL"


@pytest.mark.django_db
def test_without_a_registered_handler_a_training_job_is_400_pointing_to_the_training_runs_api(
    world, trainer, monkeypatch
):
    monkeypatch.setattr(training_jobs, "_handlers", [])
    response = send(trainer, start(world, str(uuid.uuid4())))
    assert response.status_code == 400
    assert "/api/v1/training-runs" in response.json()["errors"]["job.facets.jobType"][0]
    assert not OpenLineageRun.objects.exists()
