"""Which token scope opens which endpoint: exactly the one it names; a token reaches only its use cases."""

import pytest

from accounts.models import PipelineTokenScope
from audit.models import LedgerEntry
from tests.signing_in import login_verified

S = PipelineTokenScope

#: (method, url, the scope it needs). Bodies are empty: past the scope check, a POST answers 400 or 404.
ENDPOINTS = [
    ("post", "/api/v1/training-runs", S.RUNS_WRITE),
    ("post", "/api/v1/training-runs/run-x/complete", S.RUNS_WRITE),
    ("post", "/api/v1/model-versions", S.RUNS_WRITE),
    ("post", "/api/v1/validation-runs", S.VALIDATION_WRITE),
    ("post", "/api/v1/validation-runs/999999/gate", S.VALIDATION_WRITE),
    ("get", "/api/v1/gate-decisions/999999", S.GATES_READ),
    ("get", "/api/v1/gates/support-assistant:99/prod", S.GATES_READ),
    ("post", "/api/v1/change-tickets", S.PROMOTION_REQUEST),
    ("get", "/api/v1/deployments/support-assistant/prod", S.DEPLOYMENTS_READ),
    ("post", "/api/v1/monitoring-summaries", S.MONITORING_WRITE),
    ("post", "/api/v1/incidents", S.INCIDENTS_WRITE),
    ("post", "/api/v1/dataset-versions", S.LINEAGE_WRITE),
    ("post", "/api/v1/dataset-versions/support-chats@3/submit", S.LINEAGE_WRITE),
    ("get", "/api/v1/ledger", S.LEDGER_READ),
    ("get", "/api/v1/use-cases/support-assistant/oscal/component-definition", S.OSCAL_READ),
    ("get", "/api/v1/use-cases/support-assistant/oscal/assessment-results", S.OSCAL_READ),
    ("post", "/api/v1/otlp/v1/traces", S.INFERENCE_WRITE),
]


@pytest.mark.django_db
def test_each_scope_opens_exactly_its_endpoints(demo_organisation, issue):
    pipelines = {scope: issue(scopes=[scope]) for scope in S.values}
    wrong = []
    for method, url, needed in ENDPOINTS:
        for scope, pipeline in pipelines.items():
            response = getattr(pipeline, method)(url)
            allowed = response.status_code not in (401, 403)
            if allowed != (scope == needed):
                wrong.append(f"{scope} {method.upper()} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    denials = LedgerEntry.objects.filter(action="denied")
    assert denials.count() == len(ENDPOINTS) * (len(S.values) - 1)
    assert {entry.actor_name for entry in denials} == {"svc-ci-pipeline"}


@pytest.mark.django_db
def test_without_a_token_every_endpoint_is_401(demo_organisation, client):
    for method, url, _scope in ENDPOINTS:
        assert getattr(client, method)(url).status_code == 401, url


@pytest.mark.django_db
def test_a_signed_in_person_is_not_a_pipeline(demo_organisation, client):
    login_verified(client, demo_organisation["mleng"])
    assert client.get("/api/v1/deployments/support-assistant/dev").status_code == 401


@pytest.mark.django_db
def test_token_of_another_use_case_is_403_on_every_record(world, issue):
    model = world.model()
    run = world.validate(model)
    gate = world.gate(model)
    world.promote(model, "dev")
    other = issue(use_cases=("wealth-chatbot",))
    own = issue()
    reads = [
        f"/api/v1/gates/{model.identifier}/prod",
        f"/api/v1/gate-decisions/{gate.pk}",
        "/api/v1/deployments/support-assistant/dev",
        "/api/v1/use-cases/support-assistant/oscal/component-definition",
        "/api/v1/use-cases/support-assistant/oscal/assessment-results",
    ]
    for url in reads:
        assert other.get(url).status_code == 403, url
        assert own.get(url).status_code == 200, url
    writes = [
        (f"/api/v1/validation-runs/{run.pk}/gate", {}),
        (f"/api/v1/training-runs/{model.training_run.run_id}/complete", {"output_weights_digest": "ab" * 32}),
        ("/api/v1/model-versions", {"training_run": model.training_run.run_id, "name": "support-assistant"}),
        ("/api/v1/incidents", {"use_case": "support-assistant", "title": "t", "description": "d", "severity": "sev3"}),
        ("/api/v1/dataset-versions/support-chats@3/submit", {}),
    ]
    for url, body in writes:
        assert other.post(url, body).status_code == 403, url
