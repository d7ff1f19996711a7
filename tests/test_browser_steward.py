"""The data steward's journey, in a real browser: register a dataset and a version of it, write its lineage,
submit it, and see it land in Legal review."""

import pytest

from audit.choices import LedgerAction
from audit.models import LedgerEntry
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion
from tests.conftest import sign_in
from tests.lineage.conftest import digest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def save(page: object, label: str) -> None:
    page.click(f"input[type=submit][value='{label}']")
    page.wait_for_selector(".messagelist, .errornote")


def test_a_data_steward_registers_a_version_writes_its_lineage_and_submits_it(live_server, demo_lineage, page) -> None:
    sign_in(page, live_server.url, "steward")

    page.goto(f"{live_server.url}/admin/lineage/dataset/")
    page.get_by_role("link", name="Add dataset").click()
    page.fill("#id_slug", "claims-letters")
    page.fill("#id_name", "Claims correspondence")
    save(page, "Register")
    assert "Registered dataset claims-letters." in page.inner_text(".messagelist")

    page.get_by_role("link", name="Register a new version").click()
    page.fill("#id_content_digest", digest("claims-letters@1"))
    page.fill("#id_row_count", "8400")
    page.fill("#id_size_bytes", "3100000")
    page.fill("#id_storage_uri", "s3://training-data/claims-letters/2026-11.parquet")
    page.select_option("#id_template", label="Support chats (playbook)")
    page.fill("#id_parents", "support-chats@1")
    save(page, "Register")
    assert "Registered claims-letters@1 as a draft." in page.inner_text(".messagelist")
    assert "Name at least one source system" not in page.inner_text("#submission-check")  # it has a parent

    page.get_by_role("link", name="Edit lineage record").click()
    assert page.input_value("#id_retention_days") == "730"  # from the template
    page.fill("#id_dpia_reference", "DPIA-2026-11")
    page.fill("#id_retention_basis", "Claims records policy, 24 months")
    save(page, "Save")
    assert "Lineage record saved." in page.inner_text(".messagelist")

    page.get_by_role("link", name="Add source").click()
    page.select_option("#id_source_system", label="Zendesk tickets")
    page.select_option("#id_legal_basis", value="consent")
    page.fill("#id_period_start", "2026-01-01")
    page.fill("#id_period_end", "2026-10-31")
    save(page, "Add source")
    assert "Source added." in page.inner_text(".messagelist")

    page.get_by_role("link", name="Add transformation step").click()
    page.select_option("#id_kind", value="redact")
    page.fill("#id_tool", "presidio")
    page.fill("#id_code_version", "4f2a9c1")
    page.fill("#id_parameters", '{"entities": ["IBAN", "CREDIT_CARD"],}')
    save(page, "Add step")
    assert "Parameters are not valid JSON" in page.inner_text(".field-parameters .errorlist")
    assert page.input_value("#id_tool") == "presidio"  # nothing typed is lost
    page.fill("#id_parameters", '{"entities": ["IBAN", "CREDIT_CARD"], "threshold": 0.8}')
    save(page, "Add step")
    assert "Transformation step added." in page.inner_text(".messagelist")
    summary = page.inner_text("#lineage-record")
    assert "Zendesk tickets" in summary
    assert "presidio 4f2a9c1" in summary
    assert "support-chats@1" in summary

    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_selector(".messagelist")
    assert "Submitted claims-letters@1 for Legal review (assigned to legal)." in page.inner_text(".messagelist")
    assert "Legal review" in page.inner_text("#version-state")
    assert page.get_by_role("button", name="Submit for review").count() == 0
    assert page.get_by_role("link", name="Add source").count() == 0

    version = DatasetVersion.objects.get(dataset__slug="claims-letters")
    assert (version.state, version.submitted_by.username) == (DatasetVersionState.LEGAL_REVIEW, "steward")
    assert LedgerEntry.objects.filter(
        action=LedgerAction.TRANSITION, object_id=str(version.pk), actor__username="steward"
    ).exists()
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/?state=legal_review")
    assert "claims-letters@1" in page.inner_text("#result_list")

    page.context.clear_cookies()
    sign_in(page, live_server.url, "legal")
    assert "claims-letters@1 (Legal review, revision 1)" in page.inner_text(".portal-desks")
