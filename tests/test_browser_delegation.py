"""Delegation beyond dataset reviews, in a real browser: Rosa stands in for Rafael (both Risk Officers) while he is
away. She finds his waiting change ticket, threshold revision and borderline gate on her landing page, each saying
on whose behalf; the signing pages say it before the password; the ticket and revision pages then list her
signature with its note and on whose behalf it was made, and so does an answer's trace page for the auditor."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from audit.signatures import signatures_for
from governance.choices import EvaluationDimension
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from registry.choices import Environment
from tests.api.conftest import issue  # noqa: F401 - fixture
from tests.conftest import give_role, sign_in
from tests.delegating import away
from tests.inference.conftest import intake, spans  # noqa: F401 - fixtures
from tests.inference.tracing import answered_through_a_reviewed_gate
from tests.registry import conftest as registry
from tests.registry.pages import staged

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world  # the registry tests' world: the demo organisation, a suite, and lifecycle helpers

RAFAEL = "Rafael Iskander"


def rafael_away(world) -> None:
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER, days=10)


def sign(page, note: str, *, first_signing: bool) -> None:
    if first_signing:
        page.fill("#id_username", "risk2")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.fill("#id_note", note)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")


def test_a_delegate_signs_a_ticket_and_a_revision_on_behalf_of_the_away_risk_officer(live_server, world, page) -> None:
    ticket = world.ticket(staged(world), Environment.PROD)
    proposer = get_user_model().objects.create_user(
        username="risk3", password=DEFAULT_DEMO_PASSWORD, first_name="Ravi", last_name="Third", is_staff=True
    )
    give_role(proposer, Role.RISK_OFFICER)
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    revision = threshold_revision_propose(use_case=world.use_case, actor=proposer, rules=rules, rationale="Bars.")
    rafael_away(world)
    sign_in(page, live_server.url, "risk2")

    desks = page.locator(".portal-desks")
    desks.get_by_role("link", name=f"{ticket} (sign as Risk Officer on behalf of {RAFAEL})").click()
    page.get_by_role("link", name="Approve (sign)").click()
    assert f"You are signing on behalf of {RAFAEL}" in page.inner_text("#signing-on-behalf")
    sign(page, "Rollback rehearsed on <staging>.", first_signing=True)

    row = page.inner_text("#approvers tr[data-role='Risk Officer']")
    assert f"Rosa Lindqvist (risk2) on behalf of {RAFAEL}" in row
    assert "Note: Rollback rehearsed on <staging>." in row  # escaped, so shown as typed
    [(signature, _valid)] = signatures_for(ticket)
    assert (signature.signer.username, signature.on_behalf_of.username) == ("risk2", "risk")

    page.goto(f"{live_server.url}/admin/")
    desks.get_by_role("link", name=f"{revision} on behalf of {RAFAEL}").click()
    assert f"You are signing on behalf of {RAFAEL}" in page.inner_text("#signing-on-behalf")
    sign(page, "Same bars as the playbook.", first_signing=False)

    panel = page.inner_text("#record-signatures")
    assert f"Rosa Lindqvist on behalf of {RAFAEL}" in panel
    assert "Same bars as the playbook." in panel


def test_a_delegate_decides_a_borderline_gate_on_behalf_of_the_away_risk_officer(live_server, world, page) -> None:
    gate = world.gate(world.model(), rates={EvaluationDimension.FACTUALITY: (94, 100)})
    rafael_away(world)
    sign_in(page, live_server.url, "risk2")

    page.locator(".portal-desks").get_by_role("link", name=f"{gate} on behalf of {RAFAEL}").click()
    page.get_by_role("link", name="Human review (sign)").click()
    assert f"You are signing on behalf of {RAFAEL}" in page.inner_text("#signing-on-behalf")


def test_an_auditor_reads_on_whose_behalf_and_with_what_note_an_answers_gate_was_decided(
    live_server,
    world,
    intake,  # noqa: F811
    spans,  # noqa: F811
    page,
) -> None:
    rafael_away(world)
    answered = answered_through_a_reviewed_gate(world, intake, spans, reviewer="risk2")
    sign_in(page, live_server.url, "auditor")

    page.goto(live_server.url + reverse("admin:evidence_trace", args=[answered.record.pk]))

    gate_row = page.locator("#trace-approvals tr", has_text="Gate decision").inner_text()
    assert f"Rosa Lindqvist on behalf of {RAFAEL}" in gate_row
    assert "Note: The misses are paraphrases of correct answers; reviewed all six." in gate_row
