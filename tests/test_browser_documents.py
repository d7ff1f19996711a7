"""User journey in a real browser: a Data Steward attaches a DPIA to a dataset version (after a disguised file is
turned away), and an Auditor downloads it from the version's page; the bytes the Auditor gets are the ones whose
SHA-256 the ledger recorded at upload."""

import hashlib
import io

import pytest
from django.conf import settings
from django.test import Client
from pypdf import PdfWriter

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from governance.models import Document
from lineage.services import dataset_create
from tests.lineage.conftest import new_version
from tests.signing_in import login_verified

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def open_as(page: object, base_url: str, user: object, path: str) -> None:
    """The person's browser with a signed-in session (password and second factor passed), on ``path``."""
    client = Client()
    login_verified(client, user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base_url,
            }
        ]
    )
    page.goto(f"{base_url}{path}")


def test_a_steward_attaches_a_dpia_to_a_version_and_an_auditor_downloads_it(live_server, user_in_role, page) -> None:
    steward = user_in_role(Role.DATA_STEWARD, username="steward")
    auditor = user_in_role(Role.AUDITOR, username="auditor")
    dataset = dataset_create(actor=steward, slug="support-chats", name="Support chats", steward=steward)
    version = new_version(dataset, steward)
    version_page = f"/admin/lineage/datasetversion/{version.pk}/change/"
    dpia = pdf_bytes()

    open_as(page, live_server.url, steward, version_page)
    assert "No documents attached." in page.inner_text("#documents")
    page.get_by_role("link", name="Attach a document").click()
    page.select_option("#id_kind", "dpia")
    page.set_input_files(
        "#id_file", files=[{"name": "DPIA.pdf", "mimeType": "application/pdf", "buffer": b"MZ" + b"\0" * 500}]
    )
    page.click("input[name=_upload]")
    assert "is named .pdf but its content is application/x-msdownload" in page.inner_text(".field-file")
    assert not Document.objects.exists()

    page.select_option("#id_kind", "dpia")
    page.set_input_files(
        "#id_file", files=[{"name": "DPIA support chats.pdf", "mimeType": "application/pdf", "buffer": dpia}]
    )
    page.fill("#id_description", "Signed off by the DPO")
    page.click("input[name=_upload]")
    page.wait_for_selector(".messagelist")
    assert page.url.endswith(version_page)
    assert "DPIA_support_chats.pdf" in page.inner_text("#documents")
    upload = LedgerEntry.objects.get(action=LedgerAction.UPLOAD, object_id=str(version.pk))
    assert upload.payload["sha256"] == hashlib.sha256(dpia).hexdigest()

    open_as(page, live_server.url, auditor, version_page)
    assert page.get_by_role("link", name="Attach a document").count() == 0
    with page.expect_download() as download_info:
        page.locator("#documents").get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "DPIA_support_chats.pdf"
    assert hashlib.sha256(download.path().read_bytes()).hexdigest() == upload.payload["sha256"]
    downloaded = LedgerEntry.objects.filter(action=LedgerAction.DOWNLOAD, object_id=str(version.pk)).get()
    assert downloaded.actor_id == auditor.pk
