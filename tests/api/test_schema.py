"""The OpenAPI schema describes every pipeline endpoint and the bearer token; people read it signed in."""

import pytest

from tests.signing_in import login_verified


@pytest.mark.django_db
def test_schema_lists_the_pipeline_endpoints_with_bearer_auth(demo_users, client):
    login_verified(client, demo_users["mleng"])
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert {
        "/api/v1/training-runs",
        "/api/v1/validation-runs",
        "/api/v1/gates/{model_version}/{environment}",
        "/api/v1/deployments/{use_case}/{environment}",
        "/api/v1/dataset-versions",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["pipelineToken"]["scheme"] == "bearer"
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_schema_and_docs_need_a_signed_in_user_or_a_token(demo_organisation, issue, client):
    assert client.get("/api/schema/").status_code == 403
    assert client.get("/api/docs/").status_code == 403
    pipeline = issue(scopes=["gates:read"])
    assert pipeline.get("/api/schema/").status_code == 200
