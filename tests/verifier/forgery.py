"""What a forger does to a pack: rewrite it, append an incremental update, or take the revision before its signature,
change it and sign it again, with a certificate of their own or (an insider) the portal's."""

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pypdf import PdfWriter

from audit import merkle
from evidence.certificates import self_signed
from evidence.signing import SIGNATURE_FIELD
from tests.evidence.helpers import attachments, sha256


def flip_middle_byte(content: bytes) -> bytes:
    changed = bytearray(content)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


def rewritten(pdf: bytes, edit: Callable[[PdfWriter], None]) -> bytes:
    """The whole file written again by pypdf after ``edit``, as most PDF tools save."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_attachments(pdf: bytes, changed: dict[str, bytes]) -> bytes:
    def edit(writer: PdfWriter) -> None:
        for embedded in writer.attachment_list:
            if embedded.name in changed:
                embedded.content = changed[embedded.name]

    return rewritten(pdf, edit)


def appended(pdf: bytes, edit: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """``pdf`` with an incremental update after ``edit``: the signed revision stays byte for byte as it was."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def unsigned_revision(pdf: bytes) -> bytes:
    """The pack as it was before its signature was appended."""
    return pdf[: pdf.rindex(b"%%EOF", 0, len(pdf) - 10) + 5]


def signed(pdf: bytes, key_file: str | Path, cert_file: str | Path) -> bytes:
    signer = signers.SimpleSigner.load(str(key_file), str(cert_file))
    metadata = signers.PdfSignatureMetadata(field_name=SIGNATURE_FIELD, subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), metadata, signer=signer).getvalue()


def forgers_certificate(folder: Path) -> tuple[Path, Path]:
    key_pem, cert_pem = self_signed("Test Portal")  # the same name as the portal's: only the key differs
    (folder / "forger-key.pem").write_bytes(key_pem)
    (folder / "forger-cert.pem").write_bytes(cert_pem)
    return folder / "forger-key.pem", folder / "forger-cert.pem"


def with_manifest_consistent(pdf: bytes, changed: dict[str, bytes]) -> bytes:
    """``changed`` embedded in place of those files, and the manifest rewritten to give their new hashes and sizes."""
    manifest = json.loads(attachments(pdf)["manifest.json"])
    for name, body in changed.items():
        manifest["files"][name] = {"sha256": sha256(body), "size": len(body)}
    return with_attachments(pdf, {**changed, "manifest.json": json.dumps(manifest, indent=2, sort_keys=True).encode()})


def ledger_lines(pdf: bytes) -> list[dict]:
    return [json.loads(line) for line in attachments(pdf)["ledger.jsonl"].splitlines()]


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(row, separators=(",", ":")).encode() + b"\n" for row in rows)


def rechained(rows: list[dict], change: Callable[[dict], None]) -> list[dict]:
    """The slice with ``change`` made to its first entry and every hash after it computed again, so each entry
    matches its hash and links to the one before."""
    rows = json.loads(json.dumps(rows))
    change(rows[0]["entry"])
    previous = None
    for row in rows:
        if previous is not None and row["entry"]["sequence"] == previous["entry"]["sequence"] + 1:
            row["prev_hash"] = previous["entry_hash"]
        row["entry_hash"] = sha256(bytes.fromhex(row["prev_hash"]) + rfc8785.dumps(row["entry"]))
        previous = row
    return rows


def reproved(rows: list[dict], entry_hashes: list[bytes]) -> tuple[list[dict], bytes]:
    """The slice with new inclusion proofs in the tree of ``entry_hashes`` with the slice's entries in place, and
    that tree's root: what a forger who knows the whole ledger makes of a changed slice."""
    leaves = list(entry_hashes)
    for row in rows:
        leaves[row["entry"]["sequence"] - 1] = bytes.fromhex(row["entry_hash"])
    proofs = {row["entry"]["sequence"]: merkle.inclusion_proof(leaves, row["entry"]["sequence"] - 1) for row in rows}
    rows = [{**row, "inclusion_proof": [node.hex() for node in proofs[row["entry"]["sequence"]]]} for row in rows]
    return rows, merkle.root(leaves)


def ed25519_key() -> tuple[Ed25519PrivateKey, str]:
    """A new checkpoint key and its key id (the first 16 hex digits of the SHA-256 of its raw public key)."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, sha256(public)[:16]


def with_checkpoint(manifest: dict, statement: dict, key: Ed25519PrivateKey) -> dict:
    """``manifest`` with ``statement`` as its checkpoint, signed with ``key``, and the key beside it."""
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    checkpoint = {
        **manifest["checkpoint"],
        "statement": statement,
        "signature": base64.b64encode(key.sign(rfc8785.dumps(statement))).decode(),
        "public_key": base64.b64encode(public).decode(),
        "tree_size": statement["tree_size"],
        "root_hash": statement["root_hash"],
    }
    return {**manifest, "checkpoint": checkpoint}
