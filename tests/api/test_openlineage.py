"""OpenLineage intake at /api/v1/lineage: events as the openlineage-python client builds and sends them."""

import gzip
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    datasource_dataset,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    source_code_location_job,
    sql_job,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport
from rest_framework.test import APIClient

from accounts.models import PipelineTokenScope
from accounts.services.tokens import pipeline_token_create
from audit.models import LedgerEntry
from governance.models import UseCase
from lineage.models import DatasetVersion, OpenLineageRun
from tests import services
from tests.api.conftest import ACCOUNT_USERNAME, Pipeline, by_service_account
from tests.concurrency import run_at_once

URL = "/api/v1/lineage"
S = PipelineTokenScope
PRODUCER = "https://github.com/example/support-etl"
COMMIT = "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
SQL = "SELECT id, text FROM chats WHERE redacted AND created_at >= '2026-01-01'"


def sha(seed: object) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


@pytest.fixture
def lineage_pipeline(demo_lineage, issue: Callable[..., Pipeline]) -> Pipeline:
    return issue(scopes=["lineage:write"])


def job(job_type: str = "REDACT") -> Job:
    return Job(
        namespace="support-etl",
        name="build_support_chats",
        facets={
            "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SPARK", jobType=job_type),
            "sql": sql_job.SQLJobFacet(query=SQL, dialect="spark"),
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                type="git", url="https://git.example.com/ml/support-etl", path="jobs/chats.py", version=COMMIT
            ),
        },
    )


def inputs() -> list[InputDataset]:
    return [
        InputDataset(
            namespace="s3://corpus",
            name="support-chats",
            facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="1")},
        ),
        InputDataset(
            namespace="postgres://crm.internal:5432",
            name="crm.public.cases",
            facets={"dataSource": datasource_dataset.DatasourceDatasetFacet(name="Salesforce CRM", uri="crm://")},
        ),
    ]


def output(*, digest: str | None = None, rows: int = 1200, name: str = "support-chats") -> OutputDataset:
    facets: dict[str, Any] = {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT"),
                schema_dataset.SchemaDatasetFacetFields(name="text", type="STRING"),
            ]
        )
    }
    output_facets: dict[str, Any] = {}
    if digest is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=digest)
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows, size=rows * 512
        )
    return OutputDataset(namespace="s3://corpus", name=name, facets=facets, outputFacets=output_facets)


def event(state: RunState, run_id: str, **overrides: Any) -> RunEvent:
    values: dict[str, Any] = {
        "eventType": state,
        "eventTime": timezone.now().isoformat(),
        "run": Run(runId=run_id),
        "job": job(),
        "producer": PRODUCER,
        "inputs": inputs() if state == RunState.START else [],
        "outputs": [output()] if state == RunState.START else [output(digest=sha(run_id))],
        **overrides,
    }
    return RunEvent(**values)


def send(pipeline: Pipeline, body: Any, **headers: str) -> Any:
    """POST raw bytes the way the client's HTTP transport does (its own JSON, Content-Type application/json)."""
    if isinstance(body, RunEvent):
        body = Serde.to_json(body)
    if isinstance(body, dict):
        body = json.dumps(body)
    return pipeline.client.generic(
        "POST", URL, body, content_type="application/json", **pipeline.headers(headers or None)
    )


def ledger_count() -> int:
    return LedgerEntry.objects.count()


# -- the real client against a live server ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_openlineage_client_reports_start_and_complete_which_become_a_draft_version(live_server, lineage_pipeline):
    transport = HttpTransport(
        HttpConfig(
            url=live_server.url, auth=ApiKeyTokenProvider({"apiKey": lineage_pipeline.secret}), retry={"total": 0}
        )
    )
    assert transport.endpoint == "api/v1/lineage"  # the client's default path, which the portal serves
    client = OpenLineageClient(transport=transport)
    run_id = str(uuid.uuid4())
    versions_before = DatasetVersion.objects.filter(dataset__slug="support-chats").count()

    client.emit(event(RunState.START, run_id))
    run = OpenLineageRun.objects.get(run_id=run_id)
    assert run.state == "START"
    assert not run.dataset_versions.exists()  # the output exists once the run completes

    client.emit(event(RunState.COMPLETE, run_id))
    run.refresh_from_db()
    assert (run.state, run.received) == ("COMPLETE", ["COMPLETE", "START"])
    assert run.started_at is not None
    assert run.ended_at is not None
    assert OpenLineageRun.objects.count() == 1
    (version,) = run.dataset_versions.all()
    assert version.identifier == f"support-chats@{versions_before + 1}"
    assert version.state == "draft"
    assert (version.content_digest, version.row_count, version.size_bytes) == (sha(run_id), 1200, 1200 * 512)
    assert version.storage_uri == "s3://corpus/support-chats"
    assert version.created_by.username == ACCOUNT_USERNAME
    assert [edge.parent.identifier for edge in version.parent_edges.select_related("parent__dataset")] == [
        "support-chats@1"
    ]
    (step,) = version.lineage.steps.all()
    assert (step.kind, step.tool, step.code_version) == ("redact", "SPARK: support-etl/build_support_chats", COMMIT)
    assert step.output_digest == sha(run_id)
    assert step.parameters["openlineage"]["run_id"] == run_id
    assert step.parameters["openlineage"]["sql_sha256"] == sha(SQL)
    assert step.parameters["openlineage"]["inputs"] == [
        {"dataset": "s3://corpus/support-chats", "governed_as": "support-chats@1"},
        {"dataset": "postgres://crm.internal:5432/crm.public.cases", "governed_as": "source system Salesforce CRM"},
    ]
    notes = version.lineage.notes
    assert SQL in notes
    assert "Schema: id BIGINT, text STRING" in notes
    assert "Source systems read (Salesforce CRM)" in notes
    assert by_service_account(
        list(LedgerEntry.objects.filter(object_type="lineage.datasetversion", object_id=str(version.pk)))
    )
    assert by_service_account(
        list(LedgerEntry.objects.filter(object_type="lineage.openlineagerun", object_id=str(run.pk)))
    )


@pytest.mark.django_db(transaction=True)
def test_the_client_with_gzip_compression_is_understood(live_server, lineage_pipeline):
    config = HttpConfig.from_dict(
        {
            "url": live_server.url,
            "auth": {"type": "api_key", "apiKey": lineage_pipeline.secret},
            "compression": "gzip",
            "retry": {"total": 0},
        }
    )
    client = OpenLineageClient(transport=HttpTransport(config))
    run_id = str(uuid.uuid4())
    client.emit(event(RunState.START, run_id))
    assert OpenLineageRun.objects.get(run_id=run_id).outputs[0]["name"] == "support-chats"


# -- idempotency and the run's life -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_event_twice_records_nothing_twice(lineage_pipeline):
    run_id = str(uuid.uuid4())
    start, complete = event(RunState.START, run_id), event(RunState.COMPLETE, run_id)

    assert send(lineage_pipeline, start).status_code == 201
    entries = ledger_count()
    again = send(lineage_pipeline, start)
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    assert ledger_count() == entries

    first = send(lineage_pipeline, complete)
    assert first.status_code == 201
    (produced,) = first.json()["dataset_versions"]
    assert produced["created"]
    assert produced["state"] == "draft"
    entries, versions = ledger_count(), DatasetVersion.objects.count()
    replay = send(lineage_pipeline, complete)
    assert replay.status_code == 200
    assert replay.json()["dataset_versions"] == [{**produced, "created": False}]
    assert (ledger_count(), DatasetVersion.objects.count()) == (entries, versions)


@pytest.mark.django_db
def test_start_running_and_complete_update_the_same_run(lineage_pipeline):
    run_id = str(uuid.uuid4())
    send(lineage_pipeline, event(RunState.START, run_id))
    bare_job = Job(namespace="support-etl", name="build_support_chats")  # later events need not repeat facets
    assert send(lineage_pipeline, event(RunState.RUNNING, run_id, job=bare_job)).json()["state"] == "RUNNING"
    send(lineage_pipeline, event(RunState.COMPLETE, run_id, job=bare_job))

    run = OpenLineageRun.objects.get()
    assert run.state == "COMPLETE"
    assert run.job_facets["sql"]["query"] == SQL  # reported with START only, kept for the completed run
    assert [item["name"] for item in run.inputs] == ["support-chats", "crm.public.cases"]
    (version,) = run.dataset_versions.all()
    assert version.lineage.steps.get().code_version == COMMIT


@pytest.mark.django_db
def test_a_failed_run_produces_no_version_and_cannot_complete_afterwards(lineage_pipeline):
    run_id = str(uuid.uuid4())
    versions = DatasetVersion.objects.count()
    send(lineage_pipeline, event(RunState.START, run_id))
    failed = send(lineage_pipeline, event(RunState.FAIL, run_id))
    assert (failed.status_code, failed.json()["state"], failed.json()["dataset_versions"]) == (201, "FAIL", [])

    late = send(lineage_pipeline, event(RunState.COMPLETE, run_id))
    assert late.status_code == 409
    assert "already ended (FAIL" in late.json()["errors"]["eventType"][0]
    assert DatasetVersion.objects.count() == versions
    assert OpenLineageRun.objects.get().state == "FAIL"


@pytest.mark.django_db
def test_null_dataset_lists_and_facet_maps_are_taken_as_empty(lineage_pipeline):
    """JSON ``null`` where the spec has a list or a facet map is "none", not a server error."""
    body = json.loads(Serde.to_json(event(RunState.START, str(uuid.uuid4()))))
    body.update(inputs=None, outputs=None)
    body["run"]["facets"] = None
    body["job"]["facets"] = None
    response = send(lineage_pipeline, body)
    assert (response.status_code, response.json()["state"], response.json()["dataset_versions"]) == (201, "START", [])

    with_null_facets = json.loads(Serde.to_json(event(RunState.START, str(uuid.uuid4()))))
    for dataset in with_null_facets["inputs"] + with_null_facets["outputs"]:
        dataset.update(facets=None, inputFacets=None, outputFacets=None)
    assert send(lineage_pipeline, with_null_facets).status_code == 201


@pytest.mark.django_db
def test_an_aborted_run_ends_without_a_version(lineage_pipeline):
    run_id = str(uuid.uuid4())
    response = send(lineage_pipeline, event(RunState.ABORT, run_id))
    assert (response.status_code, response.json()["state"], response.json()["dataset_versions"]) == (201, "ABORT", [])


@pytest.mark.django_db
def test_an_output_with_the_content_of_an_approved_version_is_linked_and_left_unchanged(lineage_pipeline):
    approved = DatasetVersion.objects.get(dataset__slug="support-chats", number=1)
    assert approved.state == "approved"
    history = approved.history.count()
    run_id = str(uuid.uuid4())
    complete = event(RunState.COMPLETE, run_id, outputs=[output(digest=approved.content_digest)])

    response = send(lineage_pipeline, complete)

    assert response.status_code == 201
    assert response.json()["dataset_versions"] == [
        {"identifier": "support-chats@1", "state": "approved", "created": False}
    ]
    approved.refresh_from_db()
    assert approved.state == "approved"
    assert approved.history.count() == history
    assert approved.lineage.steps.count() == 3  # the demo's steps; nothing added to an approved version


@pytest.mark.django_db
def test_a_job_of_kind_not_named_becomes_a_filter_step_that_says_so(lineage_pipeline):
    run_id = str(uuid.uuid4())
    response = send(lineage_pipeline, event(RunState.COMPLETE, run_id, job=job(job_type="QUERY")))
    (produced,) = response.json()["dataset_versions"]
    step = DatasetVersion.objects.get(dataset__slug="support-chats", number=produced["identifier"].split("@")[1])
    step = step.lineage.steps.get()
    assert (step.kind, step.parameters["openlineage"]["kind_stated"]) == ("filter", False)


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_malformed_json_is_400_and_says_where(lineage_pipeline):
    response = send(lineage_pipeline, '{"eventType": "START", ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"]["body"][0]


@pytest.mark.django_db
def test_missing_required_fields_are_400_naming_each(lineage_pipeline):
    document = json.loads(Serde.to_json(event(RunState.START, str(uuid.uuid4()))))
    del document["run"]["runId"], document["job"]["name"], document["eventTime"]
    document["outputs"][0]["namespace"] = ""

    response = send(lineage_pipeline, document)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"run.runId", "job.name", "eventTime", "outputs[0].namespace"}
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_run_id_that_is_not_a_uuid_is_400(lineage_pipeline):
    document = json.loads(Serde.to_json(event(RunState.START, str(uuid.uuid4()))))
    document["run"]["runId"] = "run-42"
    assert "run.runId" in send(lineage_pipeline, document).json()["errors"]


@pytest.mark.django_db
def test_an_unknown_event_type_is_400(lineage_pipeline):
    document = json.loads(Serde.to_json(event(RunState.START, str(uuid.uuid4()))))
    document["eventType"] = "FINISHED"
    response = send(lineage_pipeline, document)
    assert response.status_code == 400
    assert "START, RUNNING, COMPLETE, FAIL, ABORT" in response.json()["errors"]["eventType"][0]


@pytest.mark.django_db
def test_a_dataset_event_is_400_saying_only_run_events_are_recorded(lineage_pipeline):
    body = {"eventTime": timezone.now().isoformat(), "producer": PRODUCER, "schemaURL": "x", "dataset": {}}
    response = send(lineage_pipeline, body)
    assert response.status_code == 400
    assert "RunEvents" in response.json()["errors"]["run"][0]


@pytest.mark.django_db
def test_an_unregistered_output_dataset_is_422_and_records_nothing(lineage_pipeline):
    start = event(RunState.START, str(uuid.uuid4()), outputs=[output(name="tmp_staging_table")])
    response = send(lineage_pipeline, start)
    assert response.status_code == 422
    assert "No dataset 'tmp_staging_table'" in response.json()["errors"]["outputs[0].name"][0]
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_completed_output_without_its_digest_is_400_and_the_run_stays_as_it_was(lineage_pipeline):
    run_id = str(uuid.uuid4())
    send(lineage_pipeline, event(RunState.START, run_id))
    versions, entries = DatasetVersion.objects.count(), ledger_count()

    response = send(lineage_pipeline, event(RunState.COMPLETE, run_id, outputs=[]))

    assert response.status_code == 400
    assert "SHA-256" in response.json()["errors"]["outputs[0].facets.version"][0]
    assert OpenLineageRun.objects.get().state == "START"  # the whole event was rolled back
    assert (DatasetVersion.objects.count(), ledger_count()) == (versions, entries)


@pytest.mark.django_db
def test_an_input_version_that_does_not_exist_is_400(lineage_pipeline):
    missing = InputDataset(
        namespace="s3://corpus",
        name="support-chats",
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="99")},
    )
    response = send(lineage_pipeline, event(RunState.START, str(uuid.uuid4()), inputs=[missing]))
    assert response.status_code == 400
    assert "no version '99'" in response.json()["errors"]["inputs[0].facets.version"][0]


@pytest.mark.django_db
def test_a_training_job_is_400_pointing_to_the_training_runs_api(lineage_pipeline):
    response = send(lineage_pipeline, event(RunState.START, str(uuid.uuid4()), job=job(job_type="TRAINING")))
    assert response.status_code == 400
    assert "/api/v1/training-runs" in response.json()["errors"]["job.facets.jobType"][0]
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_oversized_body_is_413(lineage_pipeline, settings):
    settings.API_MAX_REQUEST_BYTES = 1_000
    response = send(lineage_pipeline, event(RunState.START, str(uuid.uuid4())))
    assert response.status_code == 413
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_body_above_djangos_form_limit_but_within_the_api_limit_is_accepted(lineage_pipeline, settings):
    """The intake's limit is the API's (16 MiB), not Django's 2.5 MiB for form data."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.loads(Serde.to_json(event(RunState.START, str(uuid.uuid4()))))
    body["job"]["facets"]["documentation"] = {"description": "x" * 5_000, "_producer": PRODUCER, "_schemaURL": "x"}
    assert send(lineage_pipeline, body).status_code == 201


@pytest.mark.django_db
def test_an_integer_too_long_to_convert_is_400_not_a_server_error(lineage_pipeline):
    body = Serde.to_json(event(RunState.START, str(uuid.uuid4())))
    body = body[:-1] + ', "huge": ' + "9" * 5_000 + "}"
    response = send(lineage_pipeline, body)
    assert response.status_code == 400
    assert "cannot be read as JSON" in response.json()["errors"]["body"][0]


@pytest.mark.django_db
def test_an_sql_facet_without_its_query_is_ignored(lineage_pipeline):
    run_id = str(uuid.uuid4())
    started = json.loads(Serde.to_json(event(RunState.START, run_id)))
    started["job"]["facets"]["sql"] = {"dialect": "postgres", "_producer": PRODUCER, "_schemaURL": "x"}
    assert send(lineage_pipeline, started).status_code == 201
    assert send(lineage_pipeline, event(RunState.COMPLETE, run_id)).status_code == 201


@pytest.mark.django_db
def test_a_gzip_body_that_inflates_beyond_the_limit_is_413(lineage_pipeline, settings):
    settings.API_MAX_REQUEST_BYTES = 10_000
    bomb = gzip.compress(b"{" + b" " * 1_000_000 + b"}")
    assert len(bomb) < 10_000
    response = send(lineage_pipeline, bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert "inflated body is larger than 10000 bytes" in response.json()["detail"]


# -- who may report ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_token_is_401(demo_lineage):
    body = Serde.to_json(event(RunState.START, str(uuid.uuid4())))
    assert APIClient().generic("POST", URL, body, content_type="application/json").status_code == 401


@pytest.mark.django_db
def test_a_token_without_lineage_write_is_403_and_recorded(demo_lineage, issue):
    pipeline = issue(scopes=["runs:write"])
    response = send(pipeline, event(RunState.START, str(uuid.uuid4())))
    assert response.status_code == 403
    assert "lineage:write" in response.json()["detail"]
    assert LedgerEntry.objects.filter(action="denied", actor_name=ACCOUNT_USERNAME).exists()
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_a_token_for_another_use_case_is_403_and_recorded(demo_lineage, issue):
    pipeline = issue(scopes=["lineage:write"], use_cases=("wealth-chatbot",))
    response = send(pipeline, event(RunState.START, str(uuid.uuid4())))
    assert response.status_code == 403
    assert "use case of the dataset support-chats" in response.json()["detail"]
    denial = LedgerEntry.objects.filter(action="denied", actor_name=ACCOUNT_USERNAME).latest("sequence")
    assert denial.object_type == "lineage.dataset"
    assert not OpenLineageRun.objects.exists()


@pytest.mark.django_db
def test_another_service_account_may_not_add_to_a_run(demo_lineage, issue, lineage_pipeline):
    run_id = str(uuid.uuid4())
    send(lineage_pipeline, event(RunState.START, run_id))
    other = pipeline_token_create(
        service_account_name="other-pipeline",
        name="other",
        use_cases=UseCase.objects.filter(slug="support-assistant"),
        scopes=["lineage:write"],
        actor_name="system:test",
    )
    intruder = Pipeline(client=APIClient(), token=other.token, secret=other.secret)
    response = send(intruder, event(RunState.COMPLETE, run_id))
    assert response.status_code == 403
    assert OpenLineageRun.objects.get().state == "START"


# -- two deliveries at once ---------------------------------------------------------------------------------------


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_the_same_complete_delivered_twice_at_once_makes_one_version(demo_lineage, issue):
    pipeline = issue(scopes=["lineage:write"])
    run_id = str(uuid.uuid4())
    body = Serde.to_json(event(RunState.COMPLETE, run_id))
    versions = DatasetVersion.objects.count()

    def deliver() -> int:
        response = APIClient().generic("POST", URL, body, content_type="application/json", **pipeline.headers())
        return response.status_code

    answers = [outcome.get() for outcome in run_at_once(deliver, deliver, timeout=90)]

    assert sorted(answers) == [200, 201]
    assert DatasetVersion.objects.count() == versions + 1
    assert OpenLineageRun.objects.get().dataset_versions.count() == 1


@pytest.mark.django_db
def test_only_the_lineage_write_scope_opens_the_intake(demo_organisation, issue):
    opened = {scope: issue(scopes=[scope]).post(URL, {}).status_code not in (401, 403) for scope in S.values}
    assert opened == {scope: scope == S.LINEAGE_WRITE for scope in S.values}


@pytest.mark.django_db
def test_the_schema_describes_the_intake(demo_organisation, issue):
    pipeline = issue(scopes=["lineage:write"])
    schema = pipeline.client.get("/api/schema/", HTTP_ACCEPT="application/json", **pipeline.headers()).json()
    assert {"201", "200"} <= set(schema["paths"]["/api/v1/lineage"]["post"]["responses"])


@pytest.mark.django_db
def test_a_run_first_heard_of_through_running_is_recorded(lineage_pipeline):
    run_id = str(uuid.uuid4())

    response = send(lineage_pipeline, event(RunState.RUNNING, run_id, outputs=[]))

    assert response.status_code == 201, response.json()
    run = OpenLineageRun.objects.get(run_id=run_id)
    assert (run.state, run.received) == ("RUNNING", [])


@pytest.mark.django_db
def test_a_run_id_another_job_holds_is_409(lineage_pipeline):
    run_id = str(uuid.uuid4())
    send(lineage_pipeline, event(RunState.START, run_id))
    document = json.loads(Serde.to_json(event(RunState.RUNNING, run_id, outputs=[])))
    document["job"]["name"] = "another_job"

    response = send(lineage_pipeline, document)

    assert response.status_code == 409
    assert "runs are unique" in response.json()["errors"]["run.runId"][0]
