"""Promotion dev -> test -> staging -> prod: who signs, what each environment demands, and that deployment
checks it all again at the moment of going live."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from governance.choices import EvaluationDimension
from governance.services.overrides import break_glass_override
from governance.services.revisions import revision_approve
from governance.services.thresholds import RuleInput, threshold_revision_propose
from lineage.services import dataset_version_revoke
from registry.choices import ChangeTicketState, DeploymentEventKind, Environment
from registry.errors import GateBlocked
from registry.models import ChangeTicket, Deployment
from registry.services.deployments import deployment_deploy_dev, deployment_kill_switch
from registry.services.gates import gate_human_review
from registry.services.promotion import (
    change_ticket_approve,
    change_ticket_cancel,
    change_ticket_deploy,
    change_ticket_reject,
    promotion_problems,
    valid_approvals,
)
from tests.conftest import give_role
from tests.registry.conftest import PASSWORD, ledger_of, version

pytestmark = pytest.mark.django_db

#: The demo RACI of the approval & promotion stage: CAB Accountable; Risk, Security, Product Responsible.
PROD_SIGNERS = ["Security Reviewer", "Risk Officer", "Product Owner", "Change Advisory Board"]


def staged(world):
    """A model version live in staging, with a PASS gate and a complete card: ready for a prod ticket."""
    model = world.model()
    world.promote(model, Environment.STAGING)
    world.card(model)
    return model


def gate_check(model, environment) -> tuple[int, str]:
    try:
        call_command("gate_check", "--model-version", model.identifier, "--environment", environment)
    except CommandError as error:
        return error.returncode, str(error)
    return 0, ""


def test_a_version_reaches_prod_with_every_required_signature_and_the_ledger_shows_each_step(world):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)

    assert ticket.required_roles == PROD_SIGNERS
    ticket = world.sign_all(ticket)
    assert ticket.state == ChangeTicketState.APPROVED
    assert gate_check(model, Environment.PROD) == (0, "")

    ticket = change_ticket_deploy(ticket=ticket, actor=world["mleng"])
    prod = Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)
    assert ticket.state == ChangeTicketState.DEPLOYED
    assert prod.current_version == model
    actions = [entry.action for entry in ledger_of(ticket)]
    assert actions.count(LedgerAction.SIGN) == 4
    assert LedgerAction.TRANSITION in actions
    event = prod.events.get()
    assert (event.kind, event.change_ticket, event.override) == (DeploymentEventKind.DEPLOY, ticket, None)
    assert any(
        entry.payload.get("deployment_event", {}).get("change_ticket") == ticket.identifier for entry in ledger_of(prod)
    )


def test_lower_environments_need_the_accountable_function_only(world):
    model = world.model()
    deployment_deploy_dev(model_version=model, actor=world["mleng"])
    ticket = world.ticket(model, Environment.TEST)
    assert ticket.required_roles == ["Change Advisory Board"]


def test_the_requester_cannot_approve_and_nobody_signs_twice(world, user_in_role):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)
    with pytest.raises(ActionDenied, match="requester"):
        change_ticket_approve(ticket=ticket, approver=world["mleng"], password=PASSWORD)

    both = user_in_role(Role.RISK_OFFICER, username="risk-and-cab")
    give_role(both, Role.CHANGE_ADVISORY_BOARD)
    ticket = change_ticket_approve(ticket=ticket, approver=both, password=PASSWORD)
    with pytest.raises(ActionDenied, match="already signed"):
        change_ticket_approve(ticket=ticket, approver=both, password=PASSWORD)
    assert len(valid_approvals(ticket)) == 1


def test_an_administrator_without_the_role_cannot_sign(world):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)
    with pytest.raises(ActionDenied):
        change_ticket_approve(ticket=ticket, approver=world["admin"], password=PASSWORD)


def test_a_wrong_password_signs_nothing(world):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        change_ticket_approve(ticket=ticket, approver=world["risk"], password="not it")
    assert valid_approvals(ticket) == {}


def test_an_unsigned_or_partly_signed_ticket_does_not_deploy(world):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)
    ticket = change_ticket_approve(ticket=ticket, approver=world["risk"], password=PASSWORD)
    with pytest.raises(GateBlocked, match="not approved"):
        change_ticket_deploy(ticket=ticket, actor=world["mleng"])
    code, output = gate_check(model, Environment.PROD)
    assert code == 1
    assert "no approved change ticket" in output


# Each condition of prod, taken away one at a time from a version that otherwise satisfies them all.


def _revoke_data(world, model):
    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request")
    return "support-chats@1 is revoked"


def _fail_gate(world, model):
    world.gate(model, rates={EvaluationDimension.SAFETY: (5, 10)})
    return "gate of support-assistant:1 is FAIL (Safety)"


def _borderline_gate(world, model):
    world.gate(model, rates={EvaluationDimension.FACTUALITY: (94, 100)})
    return "BORDERLINE and has no accepted, signed human review"


def _supersede_thresholds(world, model):
    proposal = threshold_revision_propose(
        use_case=world.use_case,
        actor=world["risk"],
        rules={EvaluationDimension.SAFETY: RuleInput("99.5", "0")},
        rationale="Tighter safety bar after the red-team exercise.",
    )
    revision_approve(revision=proposal, approver=world["risk2"], password=PASSWORD)
    return "no longer in effect; evaluate the gate again"


def _incomplete_card(world, model):
    world.card(model, escalation_paths="")
    return "model card of support-assistant:1 is incomplete: escalation paths"


def _kill_switch(world, model):
    prod = Deployment.objects.get_or_create(use_case=world.use_case, environment=Environment.PROD)[0]
    deployment_kill_switch(deployment=prod, actor=world["risk"], engage=True, reason="Investigating a leak")
    return "kill switch"


@pytest.mark.parametrize(
    "take_away", [_revoke_data, _fail_gate, _borderline_gate, _supersede_thresholds, _incomplete_card, _kill_switch]
)
def test_prod_blocks_each_missing_condition_at_deployment_time(world, take_away):
    model = staged(world)
    ticket = world.sign_all(world.ticket(model, Environment.PROD))
    assert promotion_problems(model, Environment.PROD, ticket=ticket) == []

    expected = take_away(world, model)
    ticket.refresh_from_db()
    with pytest.raises(GateBlocked) as blocked:
        change_ticket_deploy(ticket=ticket, actor=world["mleng"])

    assert any(expected in reason for reason in blocked.value.reasons), blocked.value.reasons
    code, output = gate_check(model, Environment.PROD)
    assert code == 1
    assert expected in output
    assert not Deployment.objects.filter(environment=Environment.PROD, current_version=model).exists()


def test_a_ticket_cannot_skip_an_environment(world):
    model = world.model()
    world.gate(model)
    world.card(model)
    with pytest.raises(GateBlocked, match="has not been deployed to Staging first"):
        world.ticket(model, Environment.PROD)
    assert ChangeTicket.objects.get(environment=Environment.PROD).state == ChangeTicketState.DRAFT


def test_a_borderline_gate_accepted_by_a_signed_human_review_lets_the_version_through(world):
    model = world.model()
    deployment_deploy_dev(model_version=model, actor=world["mleng"])
    world.promote(model, Environment.TEST)
    borderline = world.gate(model, rates={EvaluationDimension.FACTUALITY: (94, 100)})
    assert borderline.outcome == "borderline"
    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        gate_human_review(decision=borderline, reviewer=world["cab"], verdict="accepted", note="ok", password=PASSWORD)
    gate_human_review(
        decision=borderline,
        reviewer=world["risk"],
        verdict="accepted",
        note="The misses are paraphrases of correct answers; reviewed all six.",
        password=PASSWORD,
    )
    ticket = world.sign_all(world.ticket(model, Environment.STAGING))
    assert change_ticket_deploy(ticket=ticket, actor=world["mleng"]).state == ChangeTicketState.DEPLOYED


def test_a_break_glass_override_lets_an_emergency_change_through_and_is_flagged(world):
    model = staged(world)
    ticket = world.sign_all(world.ticket(model, Environment.PROD))
    _fail_gate(world, model)
    ticket.refresh_from_db()
    override = break_glass_override(
        record=ticket,
        gate="promotion",
        justification="Regulator-mandated disclosure change must be live by midnight; the failing case is known.",
        requested_by=world["mleng"],
        approver=world["risk2"],
        approver_password=PASSWORD,
    )
    change_ticket_deploy(ticket=ticket, actor=world["mleng"], override=override)
    event = Deployment.objects.get(environment=Environment.PROD).events.get()
    assert event.override == override


def test_an_override_for_another_gate_or_record_does_not_count(world):
    model = staged(world)
    ticket = world.sign_all(world.ticket(model, Environment.PROD))
    _fail_gate(world, model)
    ticket.refresh_from_db()
    override = break_glass_override(
        record=ticket,
        gate="rollback",
        justification="Wrong gate named for this override, on purpose, to prove it is ignored.",
        requested_by=world["mleng"],
        approver=world["risk2"],
        approver_password=PASSWORD,
    )
    with pytest.raises(GateBlocked):
        change_ticket_deploy(ticket=ticket, actor=world["mleng"], override=override)


def test_reject_and_cancel_need_a_reason_and_the_right_person(world):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)
    with pytest.raises(ValidationError):
        change_ticket_reject(ticket=ticket, approver=world["cab"], reason=" ")
    with pytest.raises(ActionDenied):
        change_ticket_reject(ticket=ticket, approver=world["legal"], reason="Not my call")
    with pytest.raises(ActionDenied, match="Only the requester"):
        change_ticket_cancel(ticket=ticket, actor=world["cab"], reason="Withdrawn")
    rejected = change_ticket_reject(ticket=ticket, approver=world["cab"], reason="Change freeze until Monday")
    assert (rejected.state, rejected.closing_note) == (ChangeTicketState.REJECTED, "Change freeze until Monday")
    again = world.ticket(model, Environment.PROD, submit=False)
    assert change_ticket_cancel(ticket=again, actor=world["mleng"], reason="Superseded").state == "cancelled"


def test_one_open_ticket_per_version_and_environment(world):
    model = staged(world)
    world.ticket(model, Environment.PROD, submit=False)
    with pytest.raises(ValidationError, match="already requests this promotion"):
        world.ticket(model, Environment.PROD, submit=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [("environment", "dev"), ("environment", "moon"), ("risk_level", "extreme"), ("external_reference", "jira 12")],
)
def test_malformed_tickets_are_refused(world, field, value):
    from registry.services.promotion import change_ticket_create

    model = world.model()
    values = {
        "model_version": model,
        "environment": Environment.TEST,
        "actor": world["mleng"],
        "risk_level": "low",
        "risk_assessment": "Small change.",
        "rollback_plan": "Roll back.",
        field: value,
    }
    with pytest.raises(ValidationError):
        change_ticket_create(**values)
    assert not ChangeTicket.objects.exists()
