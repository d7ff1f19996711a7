"""Reading packs back, as an auditor's tools would."""

import hashlib
import io
import json

from pypdf import PdfReader, PdfWriter


def attachments(pdf: bytes) -> dict[str, bytes]:
    return {name: contents[0] for name, contents in PdfReader(io.BytesIO(pdf)).attachments.items()}


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def manifest(pdf: bytes) -> dict:
    return json.loads(attachments(pdf)["manifest.json"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def with_attachment_changed(pdf: bytes, name: str, change) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    for embedded in writer.attachment_list:
        if embedded.name == name:
            embedded.content = change(embedded.content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
