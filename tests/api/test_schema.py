"""The OpenAPI schema describes every pipeline endpoint and the bearer token; people read it signed in."""

import re

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


@pytest.mark.django_db
def test_every_operation_documents_the_errors_it_can_answer(demo_users, client):
    login_verified(client, demo_users["mleng"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    error = {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            expected = {"400", "401", "403", "404", "429"}
            if method == "post":
                expected |= {"409", "413", "415", "422"}
            assert expected <= set(operation["responses"]), f"{method} {path}"
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == error


@pytest.mark.django_db
def test_required_text_fields_say_they_cannot_be_blank(demo_users, client):
    login_verified(client, demo_users["mleng"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    incident = schema["components"]["schemas"]["IncidentIn"]["properties"]
    assert incident["title"]["minLength"] == 1


@pytest.mark.django_db
def test_an_api_path_no_url_matches_is_a_json_404(demo_organisation, issue, client):
    pipeline = issue()

    response = pipeline.get("/api/v1/no-such-endpoint")
    page = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such endpoint or record."}
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_request_bodies_say_what_the_api_can_store(demo_users, client):
    login_verified(client, demo_users["mleng"])
    schemas = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    storable = {"$ref": "#/components/schemas/StorableJSON"}
    no_nul = re.compile(schemas["IncidentIn"]["properties"]["description"]["pattern"])
    optional = re.compile(schemas["ModelVersionIn"]["properties"]["description"]["pattern"])

    assert no_nul.match("spike at night")
    assert not no_nul.match("spike \x00 at night")
    assert not no_nul.match(" \t\u3000"), "a required text is not blank once trimmed"
    assert optional.match("")
    assert not optional.match("\x00")
    assert schemas["TrainingRunIn"]["properties"]["config"]["additionalProperties"] == storable
    assert schemas["IncidentIn"]["additionalProperties"] == storable, "unknown fields are ignored, if storable"
    assert schemas["LineageRecordIn"]["additionalProperties"] is False, "unknown lineage fields are refused"
    assert schemas["ValidationRunIn"]["properties"]["suite_version"]["maximum"] == 2**53 - 1
    assert "description" not in schemas["IncidentIn"]
