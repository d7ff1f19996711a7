"""The registry's demo data: the lifecycle a visitor should be able to walk through in the admin."""

import pytest
from django.core.management import call_command

from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.models import Comment, Delegation, RoleGrant
from accounts.services.comments import thread_of
from governance.worklist import desks_for
from lineage.models import DatasetVersion
from registry import demo_organisation
from registry.choices import (
    ChangeTicketState,
    DeploymentEventKind,
    Environment,
    IncidentState,
    ProvenanceFlagKind,
    ProvenanceFlagSeverity,
    ProvenanceFlagState,
)
from registry.completeness import model_version_completeness
from registry.models import ChangeTicket, Deployment, GateDecision, Incident, ModelCard, ModelVersion, ProvenanceFlag
from registry.provenance_languages import languages_missing_from_validation
from registry.services.promotion import promotion_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo_lineage):
    demo_organisation.seed(password=DEFAULT_DEMO_PASSWORD)
    return demo_lineage


def test_the_demo_holds_tickets_in_every_state_and_a_rollback_linked_to_a_closed_incident(seeded):
    assert set(ChangeTicket.objects.values_list("state", flat=True)) == set(ChangeTicketState.values)
    prod = Deployment.objects.get(use_case__slug="support-assistant", environment=Environment.PROD)
    assert prod.current_version.identifier == "support-assistant:1"
    rollback = prod.events.get(kind=DeploymentEventKind.ROLLBACK)
    assert rollback.replaced_version.identifier == "support-assistant:2"
    assert rollback.incident.state == IncidentState.CLOSED
    assert rollback.incident.root_cause_training_run == rollback.replaced_version.training_run
    assert Incident.objects.filter(state=IncidentState.DRAFT, source="monitoring_alert").exists()
    assert GateDecision.objects.filter(outcome="borderline", human_decision="accepted").exists()
    assert all(not card.missing_sections() for card in ModelCard.objects.all())
    assert ModelVersion.objects.filter(name="wealth-advisor").exists()


def test_seeding_twice_changes_nothing_and_the_ledger_holds(seeded):
    counts = {
        model: model.objects.count()
        for model in (ModelVersion, ChangeTicket, Incident, ModelCard, Comment, Delegation, RoleGrant)
    }
    demo_organisation.seed(password=DEFAULT_DEMO_PASSWORD)
    assert {model: model.objects.count() for model in counts} == counts
    call_command("verify_ledger")  # raises CommandError if the chain is broken


def test_the_demo_shows_an_open_contradiction_a_resolved_one_and_a_language_gap(seeded):
    third = ModelVersion.objects.get(name="support-assistant", number=3)
    second = ModelVersion.objects.get(name="support-assistant", number=2)

    [open_flag] = third.flags.filter(state=ProvenanceFlagState.OPEN)
    assert (open_flag.kind, open_flag.severity, open_flag.subject) == (
        ProvenanceFlagKind.METRIC_CONTRADICTED,
        ProvenanceFlagSeverity.HIGH,
        "factuality",
    )
    assert any("Provenance flag unresolved (high)" in p for p in promotion_problems(third, Environment.PROD))
    [resolved] = second.flags.all()
    assert resolved.state == ProvenanceFlagState.RESOLVED
    assert (resolved.proposed_by.username, resolved.resolved_by.username) == ("risk", "risk2")
    assert ProvenanceFlag.objects.count() == 2, "nothing else in the demo contradicts itself"
    assert languages_missing_from_validation(third) == [], "German and French chats have German and French cases"
    demo_organisation.seed(password=DEFAULT_DEMO_PASSWORD)
    assert ProvenanceFlag.objects.count() == 2


def test_the_demo_shows_a_version_with_gaps_beside_complete_ones_in_production(seeded):
    wealth = ModelVersion.objects.get(name="wealth-advisor", number=1)
    live = Deployment.objects.get(use_case__slug="support-assistant", environment=Environment.PROD).current_version

    gaps = {fact.key for fact in model_version_completeness(wealth).missing}
    assert {"model_version.dimension_tested", "model_version.card_section"} <= gaps, "no gate and no card yet"
    assert any("Provenance fact missing for Production" in p for p in promotion_problems(wealth, Environment.PROD))
    assert not model_version_completeness(live).missing


def test_the_demo_shows_discussions_on_a_review_and_a_ticket_and_a_legal_reviewer_away(seeded):
    version = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    ticket = ChangeTicket.objects.get(model_version__name="wealth-advisor", environment=Environment.TEST)

    assert [comment.author.username for comment in thread_of(version)] == ["legal", "steward"]
    assert [comment.author.username for comment in thread_of(ticket)] == ["cab", "mleng"]
    assert ticket.state == ChangeTicketState.SUBMITTED
    [delegation] = Delegation.objects.all()
    assert (delegation.delegator.username, delegation.delegate.username) == ("legal", "risk2")
    assert delegation.is_active()
    waiting = [item.label for desk in desks_for(delegation.delegate) for _queue, items in desk.queues for item in items]
    assert f"{version} (Legal review, revision 1, on behalf of Lena Galloway)" in waiting
