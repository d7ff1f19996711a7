"""Each endpoint's happy path through the services, with the ledger naming the service account; refusals as
409 with every reason, bad input as 400 with field messages, and nothing half-written."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from lineage.models import DatasetVersion
from registry.models import ChangeTicket, Incident, ModelVersion, MonitoringSummary, TrainingRun, ValidationRun
from tests.api.conftest import by_service_account
from tests.registry.conftest import ledger_of, sha


def training_body(run_id: str, *datasets: str) -> dict:
    return {
        "run_id": run_id,
        "use_case": "support-assistant",
        "base_model": {"provider": "meta-llama", "name": "Llama-3.1-8B-Instruct", "version": "2024-07"},
        "dataset_versions": list(datasets or ["support-chats@1"]),
        "code_repository": "git@example.com:ml/support-assistant.git",
        "code_commit": sha("commit")[:40],
        "config": {"lora": {"r": 16}, "epochs": 3},
        "hyperparameters": {"learning_rate": 0.0002},
        "random_seeds": {"torch": 1234},
        "hardware": "8x A100 80GB",
        "container_image_digest": f"sha256:{sha('image')}",
        "library_versions": {"torch": "2.4.1"},
        "decision_log": "The approved billing corpus; LoRA r=16 as in the last run.",
    }


def results_for(world, *, count: int | None = None) -> list[dict]:
    cases = list(world.suite.cases.all())
    if count is None:
        count = 10 * len(cases)
    results = []
    for index in range(count):
        case = cases[index % len(cases)]
        results.append(
            {
                "case": case.key,
                "attempt": index // len(cases) + 1,
                "outcome": "pass",
                "score": 0.97,
                **({"human_reviewer": "risk2"} if case.category == "human_review" else {}),
            }
        )
    return results


@pytest.mark.django_db
def test_pipeline_registers_a_run_completes_it_and_registers_the_model_version(pipeline):
    response = pipeline.post("/api/v1/training-runs", training_body("run-api-1"))
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "running"
    run = TrainingRun.objects.get(run_id="run-api-1")
    assert run.registered_by == pipeline.account
    assert by_service_account(ledger_of(run))

    response = pipeline.post(
        "/api/v1/training-runs/run-api-1/complete",
        {"output_weights_digest": sha("weights"), "metrics": {"eval_loss": 0.9}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "completed"
    assert by_service_account(ledger_of(run))
    again = pipeline.post("/api/v1/training-runs/run-api-1/complete", {"output_weights_digest": sha("other")})
    assert again.status_code == 403, "a service's refusal for the record's state"
    assert "cannot change" in again.json()["detail"]

    response = pipeline.post("/api/v1/model-versions", {"training_run": "run-api-1", "name": "support-assistant"})
    assert response.status_code == 201, response.json()
    assert response.json()["identifier"] == "support-assistant:1"
    version = ModelVersion.objects.get(name="support-assistant", number=1)
    assert by_service_account(ledger_of(version))


@pytest.mark.django_db
def test_training_on_unapproved_data_is_409_naming_each_dataset_version(pipeline):
    response = pipeline.post(
        "/api/v1/training-runs", training_body("run-api-2", "support-chats@1", "support-chats@2", "wealth-faq@1")
    )
    assert response.status_code == 409
    body = response.json()
    reasons = " ".join(body["reasons"])
    assert "support-chats@2" in reasons
    assert "wealth-faq@1" in reasons
    assert "support-chats@1" not in " ".join(body["reasons"][1:])
    assert body["detail"]
    assert not TrainingRun.objects.filter(run_id="run-api-2").exists()


@pytest.mark.django_db
def test_malformed_training_run_is_400_with_field_messages(pipeline):
    response = pipeline.post(
        "/api/v1/training-runs", {"run_id": "", "use_case": "support-assistant", "config": "not an object"}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"run_id", "base_model", "dataset_versions", "config", "decision_log"} <= set(errors)
    assert all(isinstance(message, str) for messages in errors.values() for message in messages)

    body = training_body("run-api-3", "support-chats@9")
    response = pipeline.post("/api/v1/training-runs", body)
    assert response.status_code == 422, "well-formed, naming a dataset version the portal does not have"
    assert "support-chats@9" in response.json()["errors"]["dataset_versions"][0]

    body = {**training_body("run-api-3"), "config_hash": "0" * 64}
    response = pipeline.post("/api/v1/training-runs", body)
    assert response.status_code == 400, "a service's ValidationError is a 400 with its field"
    assert "config_hash" in response.json()["errors"]
    assert not TrainingRun.objects.filter(run_id="run-api-3").exists()


@pytest.mark.django_db
def test_errors_of_list_items_are_named_by_their_index_in_plain_text(pipeline):
    body = {**training_body("run-api-4"), "dataset_versions": ["support-chats@1", ""]}

    response = pipeline.post("/api/v1/training-runs", body)

    assert response.status_code == 400
    assert response.json()["errors"]["dataset_versions[1]"] == ["This field may not be blank."]


@pytest.mark.django_db
def test_pipeline_records_validation_evaluates_the_gate_and_reads_the_decision(world, pipeline):
    model = world.model()
    started = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    response = pipeline.post(
        "/api/v1/validation-runs",
        {
            "model_version": model.identifier,
            "suite": "billing-suite",
            "started_at": started,
            "results": results_for(world),
        },
    )
    assert response.status_code == 201, response.json()
    run = ValidationRun.objects.get(pk=response.json()["id"])
    assert run.result_count == 10 * world.suite.cases.count()
    assert by_service_account(ledger_of(run))

    response = pipeline.post(f"/api/v1/validation-runs/{run.pk}/gate")
    assert response.status_code == 201, response.json()
    decision_id = response.json()["id"]
    assert response.json()["outcome"] == "pass"
    assert by_service_account(ledger_of(run.gate_decisions.get()))

    response = pipeline.get(f"/api/v1/gate-decisions/{decision_id}")
    assert response.status_code == 200
    assert response.json()["model_version"] == model.identifier
    assert pipeline.get("/api/v1/gate-decisions/999999").status_code == 404


@pytest.mark.django_db
def test_malformed_results_are_400_naming_each_result(world, pipeline):
    model = world.model()
    results = results_for(world)
    results[2] = {"case": results[2]["case"], "outcome": "pass", "attempt": "one", "colour": "red"}
    results[5] = "pass"
    results.append({**results[0]})  # reported twice
    started = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    body = {"model_version": model.identifier, "suite": "billing-suite", "started_at": started, "results": results}
    response = pipeline.post("/api/v1/validation-runs", body)
    assert response.status_code == 400
    messages = response.json()["errors"]["results"]
    assert any(message.startswith("Result 3:") and "attempt" in message and "colour" in message for message in messages)
    assert any(message.startswith("Result 6:") for message in messages)

    response = pipeline.post("/api/v1/validation-runs", {**body, "results": [*results_for(world), {**results[0]}]})
    assert response.status_code == 400
    assert "reported twice" in " ".join(response.json()["errors"]["results"])

    response = pipeline.post("/api/v1/validation-runs", {**body, "model_version": "nope:1", "started_at": "soon"})
    assert response.status_code == 400
    assert "started_at" in response.json()["errors"]
    assert not ValidationRun.objects.exists()


@pytest.mark.django_db
def test_bulk_post_of_ten_thousand_results_in_one_request(world, pipeline, django_assert_max_num_queries):
    model = world.model()
    started = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    body = {
        "model_version": model.identifier,
        "suite": "billing-suite",
        "started_at": started,
        "results": results_for(world, count=10_000),
    }
    # Independent of the number of results: a few lookups, then inserts in batches (SQLite takes fewer rows per
    # statement than PostgreSQL).
    with django_assert_max_num_queries(40 if connection.vendor == "postgresql" else 120):
        response = pipeline.post("/api/v1/validation-runs", body)
    assert response.status_code == 201, response.json()
    assert response.json()["result_count"] == 10_000
    assert ValidationRun.objects.get().results.count() == 10_000


@pytest.mark.django_db
def test_oversized_body_is_413(world, pipeline, settings):
    settings.API_MAX_REQUEST_BYTES = 2_000
    model = world.model()
    body = {"model_version": model.identifier, "suite": "billing-suite", "started_at": timezone.now().isoformat()}
    response = pipeline.post("/api/v1/validation-runs", {**body, "results": results_for(world, count=200)})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert not ValidationRun.objects.exists()


def gate_check_command(version: ModelVersion, environment: str) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("gate_check", "--model-version", version.identifier, "--environment", environment, stdout=out)
    except CommandError as error:
        return False, str(error)
    return True, out.getvalue()


@pytest.mark.django_db
def test_gate_endpoint_agrees_with_gate_check_when_blocked(world, pipeline):
    model = world.model()
    for environment in ("test", "staging", "prod"):
        response = pipeline.get(f"/api/v1/gates/{model.identifier}/{environment}")
        assert response.status_code == 200
        allowed, said = gate_check_command(model, environment)
        assert response.json()["allowed"] is allowed is False
        assert response.json()["reasons"]
        for reason in response.json()["reasons"]:
            assert reason in said
    assert pipeline.get("/api/v1/gates/support-assistant:99/prod").status_code == 404
    assert pipeline.get(f"/api/v1/gates/{model.identifier}/moon").status_code == 404


@pytest.mark.django_db
def test_gate_endpoint_agrees_with_gate_check_when_allowed(world, pipeline):
    model = world.model()
    world.promote(model, "staging")
    world.card(model)
    ticket = world.sign_all(world.ticket(model, "prod"))
    response = pipeline.get(f"/api/v1/gates/{model.identifier}/prod")
    assert response.status_code == 200
    assert response.json() == {
        "model_version": model.identifier,
        "environment": "prod",
        "allowed": True,
        "reasons": [],
        "change_ticket": ticket.identifier,
    }
    assert gate_check_command(model, "prod")[0] is True


@pytest.mark.django_db
def test_pipeline_requests_promotion_and_submits_it(world, pipeline):
    model = world.model()
    world.promote(model, "dev")
    body = {
        "model_version": model.identifier,
        "environment": "test",
        "risk_level": "low",
        "risk_assessment": "Same base model, validated on the billing suite.",
        "rollback_plan": "Roll back to the previous stable version.",
        "submit": True,
    }
    response = pipeline.post("/api/v1/change-tickets", body)
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "submitted"
    ticket = ChangeTicket.objects.get(pk=response.json()["id"])
    assert ticket.requested_by == pipeline.account
    assert by_service_account(ledger_of(ticket))


@pytest.mark.django_db
def test_refused_submission_leaves_no_draft_ticket(world, pipeline):
    model = world.model()
    body = {
        "model_version": model.identifier,
        "environment": "staging",
        "risk_level": "low",
        "risk_assessment": "x",
        "rollback_plan": "y",
        "submit": True,
    }
    response = pipeline.post("/api/v1/change-tickets", body)
    assert response.status_code == 409
    assert any("gate decision" in reason for reason in response.json()["reasons"])
    assert not ChangeTicket.objects.exists()
    denial = ledger_of(model)[-1]
    assert denial.action == "denied"
    assert denial.actor_name == "svc-ci-pipeline"

    response = pipeline.post("/api/v1/change-tickets", {**body, "environment": "dev", "risk_level": "huge"})
    assert response.status_code == 400
    assert "risk_level" in response.json()["errors"]


@pytest.mark.django_db
def test_serving_layer_reads_the_deployment(world, pipeline):
    model = world.model()
    world.promote(model, "dev")
    response = pipeline.get("/api/v1/deployments/support-assistant/dev")
    assert response.status_code == 200
    assert response.json()["current_version"] == model.identifier
    assert response.json()["current_weights_digest"] == model.weights_digest
    assert response.json()["kill_switch_engaged"] is False
    assert pipeline.get("/api/v1/deployments/nowhere/dev").status_code == 404


@pytest.mark.django_db
def test_monitoring_summary_above_threshold_raises_a_draft_incident(world, pipeline):
    model = world.model()
    world.promote(model, "dev")
    end = timezone.now().replace(microsecond=0)
    body = {
        "use_case": "support-assistant",
        "environment": "dev",
        "period_start": (end - datetime.timedelta(hours=1)).isoformat(),
        "period_end": end.isoformat(),
        "volume": 1200,
        "policy_violation_rate": "4.5",
        "refusal_rate": "2",
        "escalation_rate": "3",
        "human_override_rate": "1",
    }
    response = pipeline.post("/api/v1/monitoring-summaries", body)
    assert response.status_code == 201, response.json()
    assert response.json()["incident"].startswith("INC-")
    summary = MonitoringSummary.objects.get()
    assert summary.reported_by == "svc-ci-pipeline"
    assert by_service_account(ledger_of(summary))

    response = pipeline.post("/api/v1/monitoring-summaries", {**body, "refusal_rate": "150", "volume": -1})
    assert response.status_code == 400
    assert {"refusal_rate", "volume"} <= set(response.json()["errors"])


@pytest.mark.django_db
def test_pipeline_opens_an_incident_from_an_alert(world, pipeline):
    model = world.model()
    world.promote(model, "dev")
    body = {
        "use_case": "support-assistant",
        "title": "Refusal spike",
        "description": "Refusals tripled in the last hour.",
        "severity": "sev2",
        "model_version": model.identifier,
        "environment": "dev",
    }
    response = pipeline.post("/api/v1/incidents", body)
    assert response.status_code == 201, response.json()
    incident = Incident.objects.get(pk=response.json()["id"])
    assert incident.source == "monitoring_alert"
    assert incident.deployment is not None
    assert by_service_account(ledger_of(incident))


@pytest.mark.django_db
def test_idempotent_retry_returns_the_first_response_and_creates_one_record(world, pipeline):
    body = {"use_case": "support-assistant", "title": "Alert", "description": "Spike.", "severity": "sev3"}
    first = pipeline.post("/api/v1/incidents", body, key="alert-42")
    again = pipeline.post("/api/v1/incidents", body, key="alert-42")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1

    other = pipeline.post("/api/v1/incidents", {**body, "title": "Another"}, key="alert-42")
    assert other.status_code == 422
    assert Incident.objects.count() == 1
    assert pipeline.post("/api/v1/incidents", body, key="alert-43").status_code == 201
    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_refused_call_keeps_no_idempotency_key(pipeline):
    body = training_body("run-api-9", "support-chats@2")
    assert pipeline.post("/api/v1/training-runs", body, key="train-9").status_code == 409
    ok = pipeline.post("/api/v1/training-runs", training_body("run-api-9"), key="train-9")
    assert ok.status_code == 201, ok.json()
    assert pipeline.post("/api/v1/training-runs", training_body("run-api-9"), key="train-9").json() == ok.json()
    assert TrainingRun.objects.filter(run_id="run-api-9").count() == 1


@pytest.mark.django_db
def test_pipeline_registers_a_dataset_version_with_lineage_and_submits_it(world, pipeline):
    body = {
        "dataset": "support-chats",
        "content_digest": sha("chats-4"),
        "row_count": 120_000,
        "size_bytes": 48_000_000,
        "storage_uri": "s3://datasets/support-chats/4/",
        "lineage": {"sensitivity": "confidential", "retention_days": 365, "data_categories": ["contact"]},
        "sources": [{"source_system": "Salesforce CRM", "legal_basis": "contract"}],
        "parents": ["support-chats@1"],
    }
    response = pipeline.post("/api/v1/dataset-versions", body)
    assert response.status_code == 201, response.json()
    identifier = response.json()["identifier"]
    version = DatasetVersion.objects.get(pk=response.json()["id"])
    assert version.created_by == pipeline.account
    assert by_service_account(ledger_of(version))
    assert version.lineage.sources.count() == 1

    response = pipeline.post(f"/api/v1/dataset-versions/{identifier}/submit")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "legal_review"
    submitted = [entry for entry in ledger_of(version) if entry.action == "transition"]
    assert by_service_account(submitted)


@pytest.mark.django_db
def test_twenty_posts_of_the_same_content_make_one_dataset_version(world, pipeline):
    body = {
        "dataset": "support-chats",
        "content_digest": sha("chats-nightly"),
        "row_count": 120_000,
        "size_bytes": 48_000_000,
        "storage_uri": "s3://datasets/support-chats/nightly/",
        "sources": [{"source_system": "Salesforce CRM", "legal_basis": "contract"}],
    }
    before = DatasetVersion.objects.count()
    first = pipeline.post("/api/v1/dataset-versions", body)
    assert first.status_code == 201, first.json()
    identifier = first.json()["identifier"]

    refusals = [pipeline.post("/api/v1/dataset-versions", body) for _ in range(19)]

    assert {response.status_code for response in refusals} == {400}
    [message] = refusals[0].json()["errors"]["content_digest"]
    assert f"{identifier} already has this content" in message
    assert DatasetVersion.objects.count() == before + 1


@pytest.mark.django_db
def test_bad_dataset_version_is_400_and_writes_nothing(world, pipeline):
    before = DatasetVersion.objects.count()
    body = {
        "dataset": "support-chats",
        "content_digest": sha("chats-5"),
        "row_count": 1,
        "size_bytes": 1,
        "storage_uri": "s3://datasets/support-chats/5/",
        "lineage": {"colour": "red"},
    }
    response = pipeline.post("/api/v1/dataset-versions", body)
    assert response.status_code == 400
    assert "lineage.colour" in response.json()["errors"]

    body["lineage"] = {"retention_days": 30}
    body["sources"] = [{"source_system": "Salesforce CRM", "legal_basis": "astrology"}]
    response = pipeline.post("/api/v1/dataset-versions", body)
    assert response.status_code == 400, "the source is refused, so the version is not kept either"
    assert "legal_basis" in response.json()["errors"]
    assert DatasetVersion.objects.count() == before

    body = {**body, "lineage": {}, "sources": []}
    identifier = pipeline.post("/api/v1/dataset-versions", body).json()["identifier"]
    response = pipeline.post(f"/api/v1/dataset-versions/{identifier}/submit")
    assert response.status_code == 400, "a draft without sources or retention cannot go to review"
    problems = " ".join(response.json()["errors"]["non_field_errors"])
    assert "source system" in problems
    assert "retention" in problems
    assert DatasetVersion.objects.get(dataset__slug="support-chats", number=identifier.split("@")[1]).state == "draft"


@pytest.mark.django_db
def test_a_well_formed_request_naming_an_unknown_record_is_422_naming_the_field(world, pipeline):
    body = {"use_case": "no-such-use-case", "title": "t", "description": "d", "severity": "sev3"}

    response = pipeline.post("/api/v1/incidents", body)

    assert response.status_code == 422
    assert response.json()["errors"] == {"use_case": ["No use case 'no-such-use-case'."]}
    assert not Incident.objects.exists()

    malformed = pipeline.post("/api/v1/incidents", {**body, "severity": "sev9"})
    assert malformed.status_code == 400, "a malformed request is a 400 before any record is looked up"
