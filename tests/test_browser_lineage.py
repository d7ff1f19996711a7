"""The dataset reviewers' journeys, in a real browser."""

import pytest

from accounts.demo import DEFAULT_DEMO_PASSWORD
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion
from lineage.services import dataset_version_submit
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def review(page: object, base_url: str, username: str, version: DatasetVersion, *, first_signing: bool = True) -> None:
    """Sign in, open the version from the landing-page queue, and approve it with re-authentication."""
    page.context.clear_cookies()
    sign_in(page, base_url, username)
    page.locator(".portal-desks").get_by_role("link", name=str(version), exact=False).click()
    page.get_by_role("link", name="Approve (sign)").click()
    summary = page.inner_text("#signing-summary")
    assert "Derived from" in summary
    assert all(str(edge.parent) in summary for edge in version.parent_edges.all())
    if first_signing:
        page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")


def test_legal_then_security_then_compliance_approve_a_version_for_training(live_server, demo_lineage, page) -> None:
    version = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    assert version.state == DatasetVersionState.LEGAL_REVIEW

    for reviewer in ("legal", "security", "compliance"):
        review(page, live_server.url, reviewer, version)

    version.refresh_from_db()
    assert version.state == DatasetVersionState.APPROVED
    page.reload()
    assert "Approved for training" in page.inner_text("#training-status")


def test_a_security_reviewer_cannot_act_at_the_legal_stage(live_server, demo_lineage, page) -> None:
    version = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    sign_in(page, live_server.url, "security")
    assert str(version) not in page.inner_text(".portal-desks")

    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/change/")
    assert page.get_by_role("link", name="Approve (sign)").count() == 0
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/approve/")

    assert page.locator("#id_password").count() == 0  # told before any password
    assert "Only a Legal Reviewer may review at the Legal review stage" in page.inner_text("#refusal-reason")
    version.refresh_from_db()
    assert version.state == DatasetVersionState.LEGAL_REVIEW


def test_changes_requested_by_legal_come_back_to_legal_after_the_engineers_resubmission(
    live_server, demo_lineage, page
) -> None:
    version = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    sign_in(page, live_server.url, "legal")
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/change/")
    page.get_by_role("link", name="Request changes").click()
    page.fill("textarea[name=reason]", "Name the consent scope of the Zendesk extract.")
    page.click("input[type=submit]")
    page.wait_for_selector(".messagelist")
    version.refresh_from_db()
    assert (version.state, version.revision) == (DatasetVersionState.DRAFT, 2)

    dataset_version_submit(version=version, actor=demo_lineage["mleng"])  # the engineer, through the pipeline API

    page.goto(f"{live_server.url}/admin/")
    assert f"{version} (Legal review, revision 2)" in page.inner_text(".portal-desks")
