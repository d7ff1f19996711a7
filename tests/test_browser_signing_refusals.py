"""Saying no before the password, in a real browser: a signing page offers its form only to someone who may sign
now; anyone else reads why not and who can, and is never asked for a password first."""

import pytest

from accounts.demo import DEFAULT_DEMO_PASSWORD
from governance.choices import RevisionState
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from lineage.models import DatasetVersion
from registry.choices import Environment
from tests.conftest import sign_in
from tests.registry import conftest as registry
from tests.registry.pages import staged

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world


def refusal_of(page: object) -> tuple[str, str]:
    """The reason and the "who can" line of a refused signing page, which has no password field."""
    assert page.locator("#id_password").count() == 0
    assert page.locator("#signature-meaning").count() == 0
    return page.inner_text("#refusal-reason"), page.inner_text("#who-can")


def test_legal_opening_a_security_stage_approval_is_told_why_not_and_who_can(live_server, demo_lineage, page) -> None:
    version = DatasetVersion.objects.get(dataset__slug="wealth-faq", number=3)
    url = f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/approve/"
    sign_in(page, live_server.url, "legal")

    response = page.goto(url)

    assert response.status == 403
    reason, who_can = refusal_of(page)
    assert reason == "Only a Security Reviewer may review at the Security review stage."
    assert who_can == "Who can sign it now: Sergei Kuznetsov."
    page.get_by_role("link", name="Back to the record").click()
    assert page.url.endswith(f"/admin/lineage/datasetversion/{version.pk}/change/")

    # The assigned reviewer gets the form, with the meaning of the signature.
    page.context.clear_cookies()
    sign_in(page, live_server.url, "security")
    page.goto(url)
    assert page.inner_text("#signature-meaning") == "Approved as Security reviewer"
    assert page.locator("#id_password").count() == 1
    assert page.locator("#signing-refusal").count() == 0


def test_the_proposer_of_a_revision_is_told_to_leave_it_to_another_and_nobody_signs_it_once_effective(
    live_server, demo_organisation, page
) -> None:
    pending = threshold_revision_propose(
        use_case=None,
        actor=demo_organisation["risk"],
        rules={dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()},
        rationale="Raise the organisation's bars.",
    )
    url = f"{live_server.url}/admin/governance/thresholdpolicy/{pending.pk}/approve/"
    sign_in(page, live_server.url, "risk")

    page.goto(url)
    reason, who_can = refusal_of(page)
    assert reason == "You proposed this revision; another person must decide on it."
    assert "Rosa Lindqvist" in who_can
    assert "Chloe Pereira" in who_can
    assert "Rafael Iskander" not in who_can

    page.context.clear_cookies()
    sign_in(page, live_server.url, "risk2")
    page.goto(url)
    page.fill("#id_username", "risk2")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")
    pending.refresh_from_db()
    assert pending.state == RevisionState.EFFECTIVE

    page.goto(url)
    reason, who_can = refusal_of(page)
    assert reason == f"Revision {pending.revision} is effective, not pending approval."
    assert who_can == "Nobody can sign it now."


def test_legal_and_the_requester_are_told_why_they_cannot_sign_a_change_ticket(live_server, world, page) -> None:
    ticket = world.ticket(staged(world), Environment.PROD)
    url = f"{live_server.url}/admin/registry/changeticket/{ticket.pk}/approve/"

    sign_in(page, live_server.url, "legal")
    response = page.goto(url)
    assert response.status == 403
    reason, who_can = refusal_of(page)
    assert reason == "Your roles do not allow signing change tickets."
    assert "Rafael Iskander" in who_can
    assert "Lena Galloway" not in who_can

    page.context.clear_cookies()
    sign_in(page, live_server.url, "mleng")
    page.goto(url)
    reason, who_can = refusal_of(page)
    assert reason == "The requester of a change ticket cannot approve it."
    assert "Maya Engel" not in who_can
