"""The auditor's journey in a real browser: from a model version to its evidence, build a pack, download it, and
find in the PDF what an auditor checks first."""

import pytest
from django.urls import reverse
from pypdf import PdfReader

from audit.models import LedgerEntry
from evidence.choices import PackStatus
from evidence.models import EvidencePack
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_auditor_builds_and_downloads_the_evidence_pack_of_a_model_version(live_server, promoted, page) -> None:
    base = live_server.url
    sign_in(page, base, "auditor")
    page.goto(f"{base}/admin/registry/modelversion/{promoted.pk}/change/")
    page.locator(".object-tools").get_by_role("link", name="Evidence packs").click()
    page.get_by_role("button", name="Build evidence pack").click()

    page.wait_for_selector("#evidence-pack-status")
    page.wait_for_function("document.getElementById('evidence-status').textContent.startsWith('Ready')")
    with page.expect_download() as download:
        page.click("a.download-link")
    pdf = PdfReader(download.value.path())

    assert "bom.cdx.json" in pdf.attachments
    assert "Executive summary" in pdf.pages[0].extract_text() + pdf.pages[1].extract_text()
    pack = EvidencePack.objects.get()
    assert pack.requested_by.username == "auditor"
    assert LedgerEntry.objects.filter(
        action="download", object_type="evidence.evidencepack", object_id=str(pack.pk)
    ).exists()


def test_a_ready_pack_shows_as_ready_with_its_download_and_never_as_queued(live_server, promoted, page) -> None:
    """Built at once (tasks in-process), the pack is announced ready: no "queued" message beside it, on its page,
    on the model version's evidence list or on the list of every pack."""
    base = live_server.url
    sign_in(page, base, "auditor")
    page.goto(base + reverse("admin:evidence_evidencepack_model_version", args=[promoted.pk]))

    page.get_by_role("button", name="Build evidence pack").click()

    page.wait_for_selector(".messagelist")
    pack = EvidencePack.objects.get()
    assert pack.status == PackStatus.READY
    assert page.inner_text(".messagelist") == f"Evidence pack #{pack.pk} is ready."
    assert page.inner_text("#evidence-status").startswith("Ready")
    assert page.locator("a.download-link").is_visible()
    assert "queued" not in page.inner_text("body").lower()

    page.goto(base + reverse("admin:evidence_evidencepack_model_version", args=[promoted.pk]))
    row = page.locator("#content-main tbody tr").filter(has_text="Ready")
    assert row.get_by_role("link", name="Download").is_visible()
    assert "queued" not in page.inner_text("body").lower()

    page.goto(base + reverse("admin:evidence_evidencepack_changelist"))
    listed = page.inner_text("#result_list")  # (the status filter beside it names every status)
    assert "Ready" in listed
    assert "queued" not in listed.lower()
