"""The auditor's journey in a real browser: from a model version to its evidence, build a pack, download it, and
find in the PDF what an auditor checks first."""

import pytest
from pypdf import PdfReader

from audit.models import LedgerEntry
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
