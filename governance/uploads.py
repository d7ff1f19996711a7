"""What an uploaded document may be: its size, and its type as its content shows it, not as its name claims.

A file is accepted only when its extension is one of the allowed ones *and* its content is that type: an
executable or an HTML page renamed ``report.pdf`` is refused, and so is a PDF that carries JavaScript or a launch
action, a Word or Excel file with macros, and "text" that is really markup. Magic numbers come from ``filetype``;
PDFs are opened with ``pypdf`` and Office files with ``zipfile`` to look inside them.

In a PDF, what is refused is content that acts by itself or sends data away: JavaScript, launch actions, XFA
forms, additional (event-triggered) actions (``/AA``), actions that open an embedded file (``/GoToE``), submit a
form (``/SubmitForm``) or import data (``/ImportData``), and rich-media (Flash/3D) annotations. An ``/OpenAction``
is refused when its action is one of those; one that only goes to a page is fine. Plain links (``/URI``) are
accepted, since ordinary reports are full of them and they act only when the reader clicks; embedded files are
accepted too, since evidence packs carry their sources inside the PDF (and an action that would open one
automatically is refused above).

In an Office file only ``[Content_Types].xml`` is read, and at most ``OFFICE_CONTENT_TYPES_MAX_BYTES`` of it,
whatever size the archive declares for it.
"""

import hashlib
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

import filetype
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.utils.text import get_valid_filename
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

#: The default ``DOCUMENT_MAX_BYTES``: 20 MiB.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Bytes read for magic-number detection.
HEAD_BYTES = 8192
#: An Office file may unpack to at most this many times the upload limit, in at most this many parts.
ZIP_EXPANSION_FACTOR = 10
ZIP_MAX_MEMBERS = 5000
#: More objects than this in one PDF is refused rather than walked.
PDF_MAX_OBJECTS = 200_000
#: The largest ``[Content_Types].xml`` read; real ones are a few KiB.
OFFICE_CONTENT_TYPES_MAX_BYTES = 1024 * 1024
#: Keys whose mere presence makes a PDF active: scripts, launch parameters, XFA forms, event-triggered actions.
_PDF_ACTIVE_KEYS = {"/JS", "/JavaScript", "/Launch", "/XFA", "/AA", "/RichMediaContent"}
#: Action types (``/S``) refused wherever they appear, ``/OpenAction`` included.
_PDF_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute", "/GoToE", "/SubmitForm"}
#: Annotation types (``/Subtype``) that run embedded players.
_PDF_ACTIVE_ANNOTATIONS = {"/RichMedia"}
_MARKUP_START = re.compile(rb"^\s*<(!doctype|html|head|body|script|svg|\?xml|iframe|object|embed)\b", re.IGNORECASE)
_TEXT_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class AllowedType:
    label: str
    media_type: str
    extensions: tuple[str, ...]
    #: What ``filetype`` may report for it; empty for text, which has no magic number.
    signatures: tuple[str, ...] = ()
    #: For Office files: the part that must exist, and the main content type ``[Content_Types].xml`` declares.
    office_part: str = ""
    office_main_type: str = ""

    @property
    def is_text(self) -> bool:
        return not self.signatures


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ALLOWED_TYPES: tuple[AllowedType, ...] = (
    AllowedType("PDF", "application/pdf", (".pdf",), ("application/pdf",)),
    AllowedType("PNG image", "image/png", (".png",), ("image/png",)),
    AllowedType("JPEG image", "image/jpeg", (".jpg", ".jpeg"), ("image/jpeg",)),
    AllowedType(
        "Word document",
        _DOCX,
        (".docx",),
        (_DOCX, "application/zip"),
        office_part="word/document.xml",
        office_main_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    AllowedType(
        "Excel workbook",
        _XLSX,
        (".xlsx",),
        (_XLSX, "application/zip"),
        office_part="xl/workbook.xml",
        office_main_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    AllowedType("plain text", "text/plain", (".txt",)),
    AllowedType("Markdown", "text/markdown", (".md", ".markdown")),
    AllowedType("CSV", "text/csv", (".csv",)),
)
_BY_EXTENSION = {extension: allowed for allowed in ALLOWED_TYPES for extension in allowed.extensions}


@dataclass(frozen=True)
class InspectedUpload:
    """An upload that passed every check: what it is, by content."""

    filename: str
    media_type: str
    size_bytes: int
    sha256: str


def max_bytes() -> int:
    return int(getattr(settings, "DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def human_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def allowed_extensions() -> str:
    return ", ".join(sorted(_BY_EXTENSION))


def sanitise_filename(name: str) -> str:
    """The last path component, NFC-normalised, with anything but letters, digits, ``-_.`` replaced; kept for
    display and for the download's ``Content-Disposition`` only (the stored name is random)."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(char for char in base if unicodedata.category(char)[0] != "C").strip().lstrip(".")
    try:
        cleaned = get_valid_filename(base)
    except SuspiciousFileOperation:
        cleaned = "document"
    path = PurePosixPath(cleaned)
    stem, suffix = path.stem[:120] or "document", path.suffix.lower()[:12]
    return f"{stem}{suffix}"


def _chunks(handle: IO[bytes], size: int = 1024 * 1024) -> Iterator[bytes]:
    handle.seek(0)
    while chunk := handle.read(size):
        yield chunk


def sha256_of(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(handle):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


def _check_text(handle: IO[bytes], filename: str, allowed: AllowedType) -> None:
    data = b"".join(_chunks(handle))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(f"{filename} is not UTF-8 text; save it as UTF-8 and upload it again.") from None
    body = data.removeprefix(b"\xef\xbb\xbf")
    if _TEXT_CONTROL.search(body):
        raise _refuse(f"{filename} contains binary data, so it is not {allowed.label}.")
    if _MARKUP_START.match(body):
        raise _refuse(f"{filename} is an HTML or XML document, not {allowed.label}; upload a PDF of it instead.")


def _pdf_active_content(value: Any, depth: int = 0) -> str:
    """The first active-content marker in one PDF object (dictionaries and arrays, not following references)."""
    if depth > 32:
        return ""
    if isinstance(value, DictionaryObject):
        for key, item in value.items():
            if key in _PDF_ACTIVE_KEYS:
                return str(key)
            if key == "/S" and isinstance(item, NameObject) and item in _PDF_ACTIVE_ACTIONS:
                return str(item)
            if key == "/Subtype" and isinstance(item, NameObject) and item in _PDF_ACTIVE_ANNOTATIONS:
                return str(item)
            if found := _pdf_active_content(item, depth + 1):
                return found
    elif isinstance(value, ArrayObject):
        for item in value:
            if found := _pdf_active_content(item, depth + 1):
                return found
    return ""


def _check_pdf(handle: IO[bytes], filename: str) -> None:
    """Every object of the file is read (object streams included), so a script cannot hide in a compressed one."""
    handle.seek(0)
    try:
        reader = PdfReader(handle, strict=False)
        if reader.is_encrypted:
            raise _refuse(f"{filename} is encrypted, so its content cannot be checked; upload it without a password.")
        numbers = {(number, generation) for generation, entries in reader.xref.items() for number in entries}
        numbers |= {(number, 0) for number in reader.xref_objStm}
        if len(numbers) > PDF_MAX_OBJECTS:
            raise _refuse(f"{filename} has more than {PDF_MAX_OBJECTS} objects; it cannot be checked.")
        objects = [reader.trailer, *(IndirectObject(number, generation, reader) for number, generation in numbers)]
        for reference in objects:
            value = reference.get_object() if isinstance(reference, IndirectObject) else reference
            if found := _pdf_active_content(value):
                raise _refuse(
                    f"{filename} contains active content ({found.lstrip('/')}); PDFs with scripts, launch, "
                    "automatic or form-submitting actions are not accepted. Print it to a new PDF and upload that."
                )
    except ValidationError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise _refuse(f"{filename} is not a readable PDF ({type(error).__name__}).") from None
    finally:
        handle.seek(0)


def _check_office(handle: IO[bytes], filename: str, allowed: AllowedType) -> None:
    """A real Office Open XML file of the claimed kind, without macros or ActiveX, that does not unpack to far
    more than it weighs."""
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                raise _refuse(f"{filename} has too many parts ({len(members)}).")
            if sum(member.file_size for member in members) > ZIP_EXPANSION_FACTOR * max_bytes():
                raise _refuse(f"{filename} unpacks to far more than it weighs; it is not accepted.")
            names = {member.filename for member in members}
            if "[Content_Types].xml" not in names or allowed.office_part not in names:
                raise _refuse(f"{filename} is not a {allowed.label}.")
            if any(name.lower().endswith("vbaproject.bin") or "/activex/" in name.lower() for name in names):
                raise _refuse(f"{filename} contains macros or ActiveX controls; save it without them.")
            with archive.open("[Content_Types].xml") as part:
                types = part.read(OFFICE_CONTENT_TYPES_MAX_BYTES + 1)
            if len(types) > OFFICE_CONTENT_TYPES_MAX_BYTES:
                raise _refuse(f"{filename} has an oversized content-types part; it is not accepted.")
            if allowed.office_main_type.encode() not in types or b"macroEnabled" in types:
                raise _refuse(f"{filename} is not a plain {allowed.label} (macro-enabled or another kind).")
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError):
        raise _refuse(f"{filename} is not a {allowed.label}.") from None
    finally:
        handle.seek(0)


def inspect_upload(handle: IO[bytes], *, filename: str, size: int) -> InspectedUpload:
    """Check an upload (a seekable binary file) and describe it; ``ValidationError`` on ``file`` says what is
    wrong. Nothing is stored here."""
    name = sanitise_filename(filename)
    limit = max_bytes()
    if size > limit:
        raise _refuse(f"{name} is {human_size(size)}; documents may be at most {human_size(limit)}.")
    if size == 0:
        raise _refuse(f"{name} is empty.")
    extension = PurePosixPath(name).suffix.lower()
    allowed = _BY_EXTENSION.get(extension)
    if allowed is None:
        raise _refuse(
            f"{name}: files of type {extension or '(no extension)'} are not accepted. Accepted: {allowed_extensions()}."
        )
    handle.seek(0)
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    detected = filetype.guess(head)
    if allowed.is_text:
        if detected is not None:
            raise _refuse(f"{name} is named {extension} but its content is {detected.mime}.")
        _check_text(handle, name, allowed)
    else:
        if detected is None:
            raise _refuse(f"{name} is named {extension} but its content is not a {allowed.label}.")
        if detected.mime not in allowed.signatures:
            raise _refuse(f"{name} is named {extension} but its content is {detected.mime}, not a {allowed.label}.")
        if allowed.media_type == "application/pdf":
            _check_pdf(handle, name)
        elif allowed.office_part:
            _check_office(handle, name, allowed)
    return InspectedUpload(filename=name, media_type=allowed.media_type, size_bytes=size, sha256=sha256_of(handle))


class DocumentSizeLimitUploadHandler(FileUploadHandler):
    """Stops keeping an uploaded file once it passes ``DOCUMENT_MAX_BYTES``, so an oversized upload never fills
    memory or the temporary directory; the request notes which field was cut (``oversized_uploads``), for the form
    to say why. First in ``FILE_UPLOAD_HANDLERS``."""

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        self.received = 0
        self.limit = max_bytes()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            oversized = getattr(self.request, "oversized_uploads", set())
            oversized.add(self.field_name)
            self.request.oversized_uploads = oversized
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
