"""Delegation beyond dataset reviews: a Risk Officer (or a board member) standing in for an away colleague signs the
change tickets, revisions and borderline gates that colleague would sign, on their behalf; segregation of duties
holds for both people, the signing pages say so before the password, and the delegate's queues list that work."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.services.delegations import delegation_end
from accounts.services.signatures import signing_note
from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from governance.choices import EvaluationDimension, RevisionState
from governance.services.revisions import revision_approve, revision_decide_refusal, revision_on_behalf_of
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from registry.choices import ChangeTicketState, Environment
from registry.services.completeness import provenance_requirement_propose
from registry.services.gates import gate_human_review, gate_review_on_behalf_of
from registry.services.promotion import change_ticket_approve, change_ticket_approve_refusal
from tests.conftest import give_role
from tests.delegating import away
from tests.governance.conftest import PASSWORD
from tests.registry.pages import staged
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

PLAYBOOK_RULES = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}


def board_ticket(world):
    model = world.model()
    world.promote(model, Environment.DEV)
    return world.ticket(model, Environment.TEST)  # needs the Change Advisory Board's signature


def borderline(world):
    return world.gate(world.model(), rates={EvaluationDimension.FACTUALITY: (94, 100)})


def third_risk_officer(user_in_role):
    person = user_in_role(Role.RISK_OFFICER, username="risk3")
    person.first_name, person.last_name = "Ravi", "Third"
    person.save()
    return person


# --- change tickets ----------------------------------------------------------------------------------------------


def test_a_delegate_signs_a_change_ticket_on_behalf_of_the_away_board_member(world, user_in_role) -> None:
    cab, stand_in = world["cab"], user_in_role(Role.CHANGE_ADVISORY_BOARD, username="cab2")
    ticket = board_ticket(world)
    away(cab, stand_in, role=Role.CHANGE_ADVISORY_BOARD)

    ticket = change_ticket_approve(ticket=ticket, approver=stand_in, password=PASSWORD)

    assert ticket.state == ChangeTicketState.APPROVED
    [(signature, valid)] = signatures_for(ticket)
    assert valid
    assert (signature.signer, signature.on_behalf_of) == (stand_in, cab)
    assert signature.meaning == "Approved promotion to Test as Change Advisory Board"
    assert signature.ledger_entry.payload["on_behalf_of"] == {"username": "cab", "printed_name": "Carl Abernathy"}


def test_nobody_signs_two_functions_of_one_ticket_through_a_delegate(world) -> None:
    risk, risk2 = world["risk"], world["risk2"]
    give_role(risk, Role.PRODUCT_OWNER)  # Rafael could sign the Risk Officer's or the Product Owner's function
    give_role(risk2, Role.CHANGE_ADVISORY_BOARD)
    ticket = world.ticket(staged(world), Environment.PROD)
    away(risk, risk2, role=Role.RISK_OFFICER)

    ticket = change_ticket_approve(ticket=ticket, approver=risk2, password=PASSWORD)
    [(signature, _valid)] = signatures_for(ticket)
    assert (signature.signer, signature.on_behalf_of) == (risk2, risk)
    assert signature.meaning == "Approved promotion to Production as Risk Officer"

    # Rafael's function is signed through Rosa: he cannot sign the Product Owner's too, nor Rosa the board's.
    assert change_ticket_approve_refusal(ticket, risk) == (
        "Your delegate signed this ticket on your behalf; each required function needs a different person."
    )
    with pytest.raises(ActionDenied, match="Your delegate signed this ticket on your behalf"):
        change_ticket_approve(ticket=ticket, approver=risk, password=PASSWORD)
    with pytest.raises(ActionDenied, match="You already signed this ticket"):
        change_ticket_approve(ticket=ticket, approver=risk2, password=PASSWORD)
    assert len(signatures_for(ticket)) == 1


def test_a_delegate_signs_in_their_own_right_what_the_away_person_may_no_longer_sign(world) -> None:
    risk, risk2 = world["risk"], world["risk2"]
    give_role(risk, Role.PRODUCT_OWNER)
    give_role(risk2, Role.PRODUCT_OWNER)
    ticket = world.ticket(staged(world), Environment.PROD)
    ticket = change_ticket_approve(ticket=ticket, approver=risk, password=PASSWORD)  # as Risk Officer, before leaving
    away(risk, risk2, role=Role.PRODUCT_OWNER)

    ticket = change_ticket_approve(ticket=ticket, approver=risk2, password=PASSWORD)

    latest, _first = (signature for signature, _valid in signatures_for(ticket))
    assert (latest.signer, latest.on_behalf_of) == (risk2, None)  # Rafael signed already: not twice through Rosa
    assert latest.meaning == "Approved promotion to Production as Product Owner"


def test_a_delegate_who_requested_the_ticket_cannot_sign_it(world) -> None:
    mleng = world["mleng"]
    give_role(mleng, Role.CHANGE_ADVISORY_BOARD)
    ticket = board_ticket(world)
    away(world["cab"], mleng, role=Role.CHANGE_ADVISORY_BOARD)

    with pytest.raises(ActionDenied, match="requester of a change ticket cannot approve it"):
        change_ticket_approve(ticket=ticket, approver=mleng, password=PASSWORD)
    assert not signatures_for(ticket)


# --- revisions (thresholds, required provenance facts) -----------------------------------------------------------


def test_a_delegate_approves_a_threshold_revision_on_behalf_of_the_away_risk_officer(world, user_in_role) -> None:
    proposer = third_risk_officer(user_in_role)
    pending = threshold_revision_propose(
        use_case=world.use_case, actor=proposer, rules=PLAYBOOK_RULES, rationale="Playbook bars."
    )
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER)

    approved = revision_approve(revision=pending, approver=world["risk2"], password=PASSWORD)

    assert approved.state == RevisionState.EFFECTIVE
    [(signature, _valid)] = signatures_for(approved)
    assert (signature.signer, signature.on_behalf_of) == (world["risk2"], world["risk"])
    assert signature.meaning == f"Approved threshold policy revision {approved.revision} as Risk Officer"
    assert signature.ledger_entry.payload["on_behalf_of"]["username"] == "risk"


def test_a_required_facts_revision_is_approved_on_behalf_of_the_away_risk_officer(world, user_in_role) -> None:
    proposer = third_risk_officer(user_in_role)
    pending = provenance_requirement_propose(
        use_case=world.use_case,
        actor=proposer,
        required_facts={"staging": ["run.code_commit"]},
        rationale="Code commits before staging.",
    )
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER)

    approved = revision_approve(revision=pending, approver=world["risk2"], password=PASSWORD)

    [(signature, _valid)] = signatures_for(approved)
    assert (signature.signer, signature.on_behalf_of) == (world["risk2"], world["risk"])


def test_the_delegator_who_proposed_a_revision_cannot_approve_it_through_the_delegate(world) -> None:
    risk, risk2 = world["risk"], world["risk2"]
    pending = threshold_revision_propose(
        use_case=world.use_case, actor=risk, rules=PLAYBOOK_RULES, rationale="Playbook bars."
    )
    away(risk, risk2, role=Role.RISK_OFFICER)

    assert revision_on_behalf_of(pending, risk2) is None
    approved = revision_approve(revision=pending, approver=risk2, password=PASSWORD)

    [(signature, _valid)] = signatures_for(approved)
    assert (signature.signer, signature.on_behalf_of) == (risk2, None)  # Rosa's own four-eyes check, not Rafael's


def test_a_delegate_who_proposed_a_revision_cannot_approve_it(world) -> None:
    risk, risk2 = world["risk"], world["risk2"]
    pending = threshold_revision_propose(
        use_case=world.use_case, actor=risk2, rules=PLAYBOOK_RULES, rationale="Playbook bars."
    )
    away(risk, risk2, role=Role.RISK_OFFICER)

    assert revision_decide_refusal(pending, risk2) == "You proposed this revision; another person must decide on it."
    with pytest.raises(ActionDenied, match="You proposed this revision"):
        revision_approve(revision=pending, approver=risk2, password=PASSWORD)
    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


# --- borderline gates --------------------------------------------------------------------------------------------


def test_a_delegate_decides_a_borderline_gate_on_behalf_of_the_away_risk_officer(world) -> None:
    decision = borderline(world)
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER)

    decided = gate_human_review(
        decision=decision, reviewer=world["risk2"], verdict="accepted", note="Within the band.", password=PASSWORD
    )

    [(signature, _valid)] = signatures_for(decided)
    assert (signature.signer, signature.on_behalf_of, signature.note) == (
        world["risk2"],
        world["risk"],
        "Within the band.",
    )


def test_a_gate_the_delegator_may_not_decide_is_decided_in_the_delegates_own_right(world) -> None:
    mleng = world["mleng"]
    give_role(mleng, Role.RISK_OFFICER)  # registered the version: may not review its gate
    decision = borderline(world)
    away(mleng, world["risk2"], role=Role.RISK_OFFICER)

    assert gate_review_on_behalf_of(decision, world["risk2"]) is None


def test_an_ended_delegation_or_a_lost_role_signs_on_nobodys_behalf(world) -> None:
    decision = borderline(world)
    delegation_end(delegation=away(world["risk"], world["risk2"], role=Role.RISK_OFFICER), actor=world["risk"])

    assert gate_review_on_behalf_of(decision, world["risk2"]) is None


# --- what the delegate sees --------------------------------------------------------------------------------------


def test_the_signing_pages_say_on_whose_behalf_before_the_password(client: Client, world, user_in_role) -> None:
    proposer = third_risk_officer(user_in_role)
    revision = threshold_revision_propose(
        use_case=world.use_case, actor=proposer, rules=PLAYBOOK_RULES, rationale="Playbook bars."
    )
    gate = borderline(world)
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER)
    login_verified(client, world["risk2"])

    for url in (
        reverse("admin:governance_thresholdpolicy_approve", args=[revision.pk]),
        reverse("admin:registry_gatedecision_human_review", args=[gate.pk]),
    ):
        page = client.get(url).content.decode()
        assert "You are signing on behalf of <strong>Rafael Iskander</strong>" in page, url


def test_the_delegates_landing_page_lists_the_away_colleagues_work_in_the_same_queries_for_many(
    client: Client, world, user_in_role
) -> None:
    proposer = third_risk_officer(user_in_role)
    threshold_revision_propose(use_case=world.use_case, actor=proposer, rules=PLAYBOOK_RULES, rationale="Bars.")
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER)
    login_verified(client, world["risk2"])
    borderline(world)
    client.get(reverse("admin:index"))  # warm the session

    counts = []
    for extra in (0, 2):
        for _ in range(extra):
            borderline(world)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("admin:index")).content.decode()
        counts.append(len(queries))
    assert page.count("on behalf of Rafael Iskander") == 4  # three gates and the threshold revision
    assert counts[0] == counts[1]


def test_the_ticket_page_lists_each_signature_with_its_note_and_on_whose_behalf(
    client: Client, world, user_in_role
) -> None:
    cab, stand_in = world["cab"], user_in_role(Role.CHANGE_ADVISORY_BOARD, username="cab2")
    stand_in.first_name, stand_in.last_name = "Cleo", "Board"
    stand_in.save()
    ticket = board_ticket(world)
    away(cab, stand_in, role=Role.CHANGE_ADVISORY_BOARD)
    with signing_note("Rollback rehearsed <Tuesday>."):
        change_ticket_approve(ticket=ticket, approver=stand_in, password=PASSWORD)
    login_verified(client, get_user_model().objects.get(username="auditor"))

    page = client.get(reverse("admin:registry_changeticket_change", args=[ticket.pk])).content.decode()

    assert "Cleo Board (cab2)" in page
    assert "on behalf of Carl Abernathy" in page
    assert "Rollback rehearsed &lt;Tuesday&gt;." in page
