"""Each of the eight events is raised by the real service call that makes it happen, and only by that call:
the demo organisation's world, a subscriber on loopback, and the services the portal's pages call."""

import pytest

from governance.choices import EvaluationDimension
from lineage.selectors import assigned_reviewers, stage_of
from lineage.services import dataset_version_reject, dataset_version_review_approve, dataset_version_revoke
from registry.choices import Environment, IncidentSource
from registry.models import Deployment
from registry.services.deployments import deployment_deploy_dev, deployment_rollback
from registry.services.incidents import incident_confirm, incident_open, incident_raise_draft
from registry.services.promotion import change_ticket_deploy
from tests.registry.conftest import PASSWORD, version, world  # noqa: F401  (the fixture, reused)
from webhooks.choices import WebhookEvent
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced(world, receiver, subscribe, django_capture_on_commit_callbacks):  # noqa: F811
    """Runs a service call as a request would (its transaction committed) and returns the events it sent."""
    subscribe(world["security"])

    def run(call):
        before = len(receiver.received)
        with django_capture_on_commit_callbacks(execute=True):
            result = call()
        new = receiver.received[before:]
        assert all(request.signature_ok for request in new)
        return [request.json for request in new], result

    return run


def names(events: list[dict]) -> list[str]:
    return [event["event"] for event in events]


def _approve_stage(dataset_version):
    reviewer = assigned_reviewers(dataset_version, stage_of(dataset_version))[0]
    return dataset_version_review_approve(version=dataset_version, reviewer=reviewer, password=PASSWORD)


def test_a_dataset_version_is_announced_approved_once_compliance_signs(announced) -> None:
    under_review = version("support-chats@2")
    events, under_review = announced(lambda: _approve_stage(under_review))  # Legal
    assert events == []
    events, under_review = announced(lambda: _approve_stage(under_review))  # Security
    assert events == []
    events, _approved = announced(lambda: _approve_stage(under_review))  # Compliance

    [event] = events
    assert event["event"] == WebhookEvent.DATASET_APPROVED
    assert event["object"]["label"] == "support-chats@2"
    assert event["data"] == {"transition": "approve_compliance", "from": "compliance_review", "to": "approved"}
    assert event["use_case"] == "support-assistant"


def test_a_dataset_version_rejection_is_announced(announced) -> None:
    under_review = version("support-chats@2")
    reviewer = assigned_reviewers(under_review, stage_of(under_review))[0]
    events, _ = announced(
        lambda: dataset_version_reject(version=under_review, reviewer=reviewer, reason="No legal basis for EU chats.")
    )

    assert names(events) == [WebhookEvent.DATASET_REJECTED]
    assert events[0]["data"]["to"] == "rejected"


def test_a_dataset_version_revocation_is_announced(announced, world) -> None:  # noqa: F811
    approved = version("support-chats@1")
    events, _ = announced(
        lambda: dataset_version_revoke(version=approved, actor=world["compliance"], reason="Erasure request ER-7.")
    )

    assert names(events) == [WebhookEvent.DATASET_REVOKED]
    assert events[0]["object"]["label"] == "support-chats@1"


def test_a_failed_gate_is_announced_and_a_passed_one_is_not(announced, world) -> None:  # noqa: F811
    model_version = world.model()
    events, passed = announced(lambda: world.gate(model_version))
    assert passed.outcome == "pass"
    assert events == []

    events, failed = announced(lambda: world.gate(model_version, rates={EvaluationDimension.FACTUALITY: (2, 10)}))

    assert failed.outcome == "fail"
    assert names(events) == [WebhookEvent.GATE_FAILED]
    assert events[0]["object"] == {"type": "registry.gatedecision", "id": str(failed.pk), "label": str(failed)}
    assert events[0]["data"]["outcome"] == "fail"


def test_promotion_is_announced_when_the_last_signature_approves_the_ticket_then_its_deployment(
    announced,
    world,  # noqa: F811
    settings,
) -> None:
    settings.JIRA_BASE_URL = "https://example.atlassian.net"
    model_version = world.model()
    deployment_deploy_dev(model_version=model_version, actor=world["mleng"])
    ticket = world.ticket(model_version, Environment.TEST)

    events, ticket = announced(lambda: world.sign_all(ticket))
    assert names(events) == [WebhookEvent.PROMOTION_APPROVED]
    assert events[0]["data"]["environment"] == "test"
    assert events[0]["data"]["to"] == "approved"
    assert events[0]["data"]["external_reference"] == "MLOPS-42"
    assert events[0]["data"]["external_url"] == "https://example.atlassian.net/browse/MLOPS-42"

    events, _ = announced(lambda: change_ticket_deploy(ticket=ticket, actor=world["mleng"]))
    assert names(events) == [WebhookEvent.DEPLOYMENT]
    assert events[0]["data"]["environment"] == "test"
    assert events[0]["data"]["change_ticket"] == ticket.identifier
    assert events[0]["data"]["model_version"] == str(model_version)


def test_a_deployment_and_a_rollback_with_its_incident_are_announced(announced, world) -> None:  # noqa: F811
    first, second = world.model(), world.model()
    events, _ = announced(lambda: deployment_deploy_dev(model_version=first, actor=world["mleng"]))
    assert names(events) == [WebhookEvent.DEPLOYMENT]
    events, _ = announced(lambda: deployment_deploy_dev(model_version=second, actor=world["mleng"]))
    assert names(events) == [WebhookEvent.DEPLOYMENT]
    assert events[0]["data"]["replaced_version"] == str(first)

    dev = Deployment.objects.get(use_case=world.use_case, environment=Environment.DEV)
    events, rollback = announced(
        lambda: deployment_rollback(deployment=dev, actor=world["risk"], reason="Refund answers went wrong.")
    )

    assert sorted(names(events)) == sorted([WebhookEvent.INCIDENT_OPENED, WebhookEvent.ROLLBACK])
    rolled_back = next(event for event in events if event["event"] == WebhookEvent.ROLLBACK)
    assert rolled_back["data"]["model_version"] == str(first)
    assert rolled_back["data"]["replaced_version"] == str(second)
    assert rolled_back["data"]["incident"] == rollback.incident.identifier


def test_an_incident_is_announced_when_opened_and_a_monitoring_draft_only_once_confirmed(
    announced,
    world,  # noqa: F811
) -> None:
    model_version = world.model()
    deployment_deploy_dev(model_version=model_version, actor=world["mleng"])
    dev = Deployment.objects.get(use_case=world.use_case, environment=Environment.DEV)

    events, _opened = announced(
        lambda: incident_open(
            use_case=world.use_case,
            actor=world["risk"],
            title="Tone complaint",
            description="A customer found the assistant curt.",
            severity="sev4",
            source=IncidentSource.COMPLAINT,
        )
    )
    assert names(events) == [WebhookEvent.INCIDENT_OPENED]
    assert events[0]["data"]["severity"] == "sev4"

    events, draft = announced(
        lambda: incident_raise_draft(deployment=dev, title="Refusal rate above 5%", description="Alert.")
    )
    assert events == []
    events, _ = announced(lambda: incident_confirm(incident=draft, actor=world["risk"]))
    assert names(events) == [WebhookEvent.INCIDENT_OPENED]
    assert events[0]["data"]["to"] == "open"
    assert WebhookDelivery.objects.filter(event=WebhookEvent.INCIDENT_OPENED).count() == 2
