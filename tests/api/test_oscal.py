"""A GRC platform's pipeline takes a use case's OSCAL documents: with the ``oscal:read`` scope, for the token's use
cases only, each download an export in the ledger."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.component import ComponentDefinition

from accounts.models import PipelineTokenScope
from audit.models import AccessEvent, LedgerEntry
from governance.models import UseCase
from registry.choices import Environment

pytestmark = pytest.mark.django_db

BASE = "/api/v1/use-cases/{}/oscal/{}"
MODELS = {"component-definition": ComponentDefinition, "assessment-results": AssessmentResults}


@pytest.mark.parametrize("document", MODELS)
def test_a_token_with_the_scope_downloads_valid_oscal_and_the_export_is_recorded(world, issue, document) -> None:
    world.promote(world.model(), Environment.STAGING)
    pipeline = issue(scopes=[PipelineTokenScope.OSCAL_READ])

    response = pipeline.get(BASE.format("support-assistant", document))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="support-assistant-{document}.json"'
    MODELS[document].model_validate(json.loads(response.content)[document])
    use_case = UseCase.objects.get(slug="support-assistant")
    event = AccessEvent.objects.get(kind="export", object_id=str(use_case.pk))
    assert event.user == pipeline.account
    assert (event.detail["format"], event.detail["channel"]) == (f"oscal-{document}", "api")
    entry = LedgerEntry.objects.get(action="export", object_id=str(use_case.pk))
    assert entry.actor_name == pipeline.account.username
    assert entry.payload["sha256"] == event.detail["sha256"]


@pytest.mark.parametrize("document", MODELS)
def test_a_use_case_the_token_is_not_issued_for_is_403_and_recorded(world, issue, document) -> None:
    pipeline = issue(scopes=[PipelineTokenScope.OSCAL_READ], use_cases=("wealth-chatbot",))
    response = pipeline.get(BASE.format("support-assistant", document))
    assert response.status_code == 403
    assert LedgerEntry.objects.filter(action="denied", actor_name=pipeline.account.username).exists()
    assert not AccessEvent.objects.filter(kind="export").exists()


@pytest.mark.parametrize("document", MODELS)
def test_an_unknown_use_case_is_404(world, issue, document) -> None:
    pipeline = issue(scopes=[PipelineTokenScope.OSCAL_READ])
    response = pipeline.get(BASE.format("no-such-use-case", document))
    assert response.status_code == 404
    assert response.json()["detail"] == "No use case 'no-such-use-case'."


def test_another_scope_is_403(world, issue) -> None:
    pipeline = issue(scopes=[PipelineTokenScope.GATES_READ])
    assert pipeline.get(BASE.format("support-assistant", "assessment-results")).status_code == 403
    assert not AccessEvent.objects.filter(kind="export").exists()


def test_a_use_case_without_approved_requirements_has_no_component_definition_409(world, issue) -> None:
    use_case = UseCase.objects.get(slug="support-assistant")
    use_case.pk, use_case.slug, use_case.name = None, "new-idea", "A new idea"
    use_case.save()
    pipeline = issue(scopes=[PipelineTokenScope.OSCAL_READ], use_cases=("new-idea",))
    response = pipeline.get(BASE.format("new-idea", "component-definition"))
    assert response.status_code == 409
    assert "no approved requirements" in response.json()["detail"]
    assert not AccessEvent.objects.filter(kind="export").exists()
    assert pipeline.get(BASE.format("new-idea", "assessment-results")).status_code == 200


def test_the_download_takes_the_same_number_of_queries_however_many_records_there_are(world, issue) -> None:
    pipeline = issue(scopes=[PipelineTokenScope.OSCAL_READ])
    url = BASE.format("support-assistant", "assessment-results")
    world.promote(world.model(), Environment.PROD)
    pipeline.get(url)  # the signed records' content types are cached from here on
    with CaptureQueriesContext(connection) as first:
        pipeline.get(url)
    for _ in range(2):
        world.promote(world.model(), Environment.PROD)
    with CaptureQueriesContext(connection) as second:
        pipeline.get(url)
    assert len(second) == len(first)
