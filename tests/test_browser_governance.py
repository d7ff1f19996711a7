"""User journeys of the governance domain, in a real browser: RACI and thresholds under change control,
and signing requirements."""

import pytest

from accounts.demo import DEFAULT_DEMO_PASSWORD
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from governance.choices import RequirementsState, RevisionState
from governance.models import RaciMatrix, RequirementsDocument, ThresholdPolicy, UseCase
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_use_case_page(page: object, base_url: str, slug: str, suffix: str) -> UseCase:
    use_case = UseCase.objects.get(slug=slug)
    page.goto(f"{base_url}/admin/governance/usecase/{use_case.pk}/{suffix}/")
    return use_case


def cell(stage: str, role: str) -> str:
    return f"select[name='cell__{stage}__{role.replace(' ', '_')}']"


def test_risk_officer_proposes_raci_and_threshold_changes_and_a_second_risk_officer_approves(
    live_server, demo_organisation, page
) -> None:
    sign_in(page, live_server.url, "risk")
    use_case = open_use_case_page(page, live_server.url, "support-assistant", "raci")
    page.select_option(cell("monitoring", "Compliance Reviewer"), "R")
    page.fill("textarea[name=rationale]", "Compliance co-owns monitoring after the 2026 audit finding.")
    page.click("#raci-form input[type=submit]")
    page.wait_for_selector("#raci-pending")
    assert "pending approval" in page.inner_text("#raci-pending")

    open_use_case_page(page, live_server.url, "support-assistant", "thresholds")
    page.fill("input[name=factuality__rate]", "97")
    page.fill("textarea[name=rationale]", "Raise factuality after the Q3 complaint review.")
    page.click("#thresholds-form input[type=submit]")
    page.wait_for_selector("#thresholds-pending")

    pending_raci = RaciMatrix.objects.get(use_case=use_case, state=RevisionState.PENDING)
    pending_thresholds = ThresholdPolicy.objects.get(use_case=use_case, state=RevisionState.PENDING)

    page.context.clear_cookies()
    sign_in(page, live_server.url, "risk2")
    assert str(pending_raci) in page.inner_text(".portal-desks")
    page.goto(f"{live_server.url}/admin/governance/racimatrix/{pending_raci.pk}/approve/")
    page.fill("#id_username", "risk2")
    page.fill("#id_password", "not-my-password")
    page.click("input[name=_sign]")
    assert "Re-authentication failed" in page.inner_text(".errornote")
    page.fill("#id_username", "risk2")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")
    assert "approved and in effect" in page.inner_text(".messagelist")

    page.goto(f"{live_server.url}/admin/governance/thresholdpolicy/{pending_thresholds.pk}/approve/")
    assert page.locator("#id_username").count() == 0  # later signings of the session: password only
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")

    pending_raci.refresh_from_db()
    pending_thresholds.refresh_from_db()
    assert pending_raci.state == pending_thresholds.state == RevisionState.EFFECTIVE
    assert pending_raci.grid()[("monitoring", "Compliance Reviewer")] == "R"
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor__username="risk2").get()
    assert "Re-authentication failed" in denial.payload["reason"]


def test_a_raci_grid_with_two_accountables_and_no_responsible_is_refused_and_nothing_is_saved(
    live_server, demo_organisation, page
) -> None:
    sign_in(page, live_server.url, "risk")
    use_case = open_use_case_page(page, live_server.url, "wealth-chatbot", "raci")
    page.select_option(cell("evaluation", "Compliance Reviewer"), "A")
    page.select_option(cell("deployment", "ML Engineer"), "I")
    page.fill("textarea[name=rationale]", "Trying a shared accountability.")
    page.click("#raci-form input[type=submit]")

    page.wait_for_selector(".errornote")
    evaluation_row = page.inner_text("tr[data-stage=evaluation]")
    deployment_row = page.inner_text("tr[data-stage=deployment]")
    assert "needs exactly one Accountable (found 2: Compliance Reviewer, Risk Officer)" in evaluation_row
    assert "needs at least one Responsible" in deployment_row
    assert page.input_value(cell("evaluation", "Compliance Reviewer")) == "A"  # what was typed is kept
    assert not RaciMatrix.objects.filter(use_case=use_case, state=RevisionState.PENDING).exists()


def test_product_owner_signs_the_requirements_and_compliance_completes_the_approval(
    live_server, demo_organisation, page
) -> None:
    document = RequirementsDocument.objects.get(use_case__slug="clinical-notes")
    sign_in(page, live_server.url, "product")
    page.get_by_role("link", name=str(document)).click()
    page.fill("#id_username", "product")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")

    page.context.clear_cookies()
    sign_in(page, live_server.url, "compliance")
    page.goto(f"{live_server.url}/admin/governance/requirementsdocument/{document.pk}/change/")
    page.get_by_role("link", name="Sign", exact=True).click()
    assert "Approved as Compliance reviewer" in page.inner_text("#signature-meaning")
    page.fill("#id_username", "compliance")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")

    document.refresh_from_db()
    assert document.state == RequirementsState.APPROVED
    signers = LedgerEntry.objects.filter(
        action=LedgerAction.SIGN, object_type="governance.requirementsdocument", object_id=str(document.pk)
    ).values_list("actor__username", flat=True)
    assert set(signers) == {"product", "compliance"}
