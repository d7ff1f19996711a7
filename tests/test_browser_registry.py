"""The model registry's journeys, in a real browser: a risk officer reads the evaluation matrix and signs a prod
change ticket, the on-call risk officer rolls prod back, and a revoked dataset shows up on the models it reached."""

import pytest

from accounts.demo import DEFAULT_DEMO_PASSWORD
from lineage.services import dataset_version_revoke
from registry.choices import ChangeTicketState, DeploymentEventKind, Environment
from registry.models import Deployment
from registry.services.promotion import valid_approvals
from tests.conftest import sign_in
from tests.registry import conftest as registry
from tests.registry.conftest import version
from tests.registry.pages import prod_with_previous, staged

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world  # the registry tests' world: the demo organisation, a suite, and lifecycle helpers


def test_a_risk_officer_reads_the_evaluation_matrix_then_signs_the_prod_change_ticket(live_server, world, page) -> None:
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)
    base = live_server.url
    sign_in(page, base, "risk")

    page.goto(f"{base}/admin/registry/modelversion/{model.pk}/change/")
    page.locator("#gates li a.matrix-link").first.click()  # the validation run's matrix
    unmapped = page.locator("#evaluation-matrix tr[data-policy='(no policy)'] td")
    figures = page.inner_text("#gate-decision")
    assert unmapped.nth(0).inner_text().lower() == "pass 70/70"  # prompt tests: seven cases, ten attempts each
    assert unmapped.nth(3).inner_text().lower() == "pass 10/10"  # the human-review case
    assert "billing-suite v1" in figures
    assert "Safety" in figures
    assert "PASS" in figures

    page.goto(f"{base}/admin/")
    page.locator(".portal-desks").get_by_role("link", name=f"{ticket} (sign as Risk Officer)").click()
    assert "not yet signed" in page.inner_text("#approvers")
    page.get_by_role("link", name="Approve (sign)").click()
    assert page.inner_text("#signature-meaning") == "Approved promotion to Production as Risk Officer"
    assert "Roll back to the previous stable version" in page.inner_text("#signing-summary")
    page.fill("#id_username", "risk")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")

    assert f"You signed {ticket.identifier}." in page.inner_text(".messagelist")
    assert "Rafael Iskander (risk)" in page.inner_text("#approvers tr[data-role='Risk Officer']")
    assert page.get_by_role("link", name="Approve (sign)").count() == 0
    ticket.refresh_from_db()
    assert ticket.state == ChangeTicketState.SUBMITTED
    assert list(valid_approvals(ticket)) == ["Risk Officer"]


def test_the_on_call_risk_officer_rolls_prod_back_with_one_click_and_a_reason(live_server, world, page) -> None:
    prod = prod_with_previous(world)
    current, previous = prod.current_version, prod.previous_stable_version
    sign_in(page, live_server.url, "risk")

    page.goto(f"{live_server.url}/admin/registry/deployment/{prod.pk}/change/")
    assert str(current) in page.inner_text("#current-version")
    page.get_by_role("link", name=f"Roll back to {previous}").click()
    page.fill("textarea[name=reason]", "Answers show card fragments since 09:10; back to the last good version.")
    page.click("input[type=submit]")
    page.wait_for_selector(".messagelist")

    assert str(previous) in page.inner_text("#current-version")
    history = page.locator("#deployment-events tbody tr").first
    assert "Rolled back" in history.inner_text()
    incident_link = history.locator("a.incident-link")
    incident_text = incident_link.inner_text()
    prod.refresh_from_db()
    event = prod.events.order_by("-happened_at", "-id").first()
    assert prod.current_version == previous
    assert event.kind == DeploymentEventKind.ROLLBACK
    assert incident_text == event.incident.identifier

    incident_link.click()
    assert "Contained" in page.inner_text("#incident-state")
    assert str(prod) in page.inner_text("#incident-events")


def test_a_revoked_dataset_version_is_flagged_on_the_model_version_page_and_the_deployment_list(
    live_server, world, page
) -> None:
    prod = prod_with_previous(world)
    dataset_version_revoke(
        version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request ER-2026-114"
    )
    sign_in(page, live_server.url, "risk")

    page.goto(f"{live_server.url}/admin/registry/modelversion/{prod.current_version_id}/change/")
    banner = page.inner_text("#data-flag")
    assert "trained on data that is no longer approved" in banner
    assert "support-chats@1 (revoked)" in banner
    page.locator("#data-flag").get_by_role("link", name="support-chats@1").click()
    assert "Not usable for training" in page.inner_text("#training-status")

    page.goto(f"{live_server.url}/admin/registry/deployment/")
    prod_row = page.locator("#result_list tbody tr", has_text="prod")
    assert "Data no longer approved: support-chats@1 (revoked)" in prod_row.inner_text()
    assert Deployment.objects.filter(current_version=prod.current_version).exists()
