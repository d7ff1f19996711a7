"""Every tampered pack is refused by the standalone verifier, run as an auditor runs it (no Django settings, no
database), naming the first check that fails. A forger who rewrites or appends to the file breaks the document
signature; one who also holds the portal's document signing key (an insider) and signs the changed pack again gets
past that, and is stopped by the ledger checks, which only the ledger checkpoint key can satisfy."""

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader, PdfWriter

from tests.evidence.helpers import attachments, manifest, sha256, text
from tests.verifier import forgery
from tests.verifier.conftest import Issued, run_verifier

pytestmark = pytest.mark.django_db  # the pack is built in the test database (the verifier itself never sees one)


@dataclass(frozen=True)
class Verdict:
    returncode: int
    stdout: str

    @property
    def failure(self) -> str:
        return self.stdout.splitlines()[-1]


def verdict(issued: Issued, pdf: bytes, folder: Path) -> Verdict:
    path = folder / "tampered.pdf"
    path.write_bytes(pdf)
    result = run_verifier(path, "--trust", issued.keys, cwd=folder)
    assert result.stderr == ""
    return Verdict(result.returncode, result.stdout)


def assert_refused(found: Verdict, check: str, reason: str = "") -> None:
    assert found.returncode == 1, found.stdout
    assert found.failure.startswith(f"FAILED {check}: {reason}"), found.stdout


def test_the_untouched_pack_passes(issued, tmp_path) -> None:
    found = verdict(issued, issued.pdf.read_bytes(), tmp_path)

    assert found.returncode == 0, found.stdout
    assert found.failure.startswith("Evidence pack verified")


def test_one_byte_changed_in_any_attachment_is_refused(issued, tmp_path) -> None:
    pdf = issued.pdf.read_bytes()
    names = sorted(attachments(pdf))
    assert {"manifest.json", "ledger.jsonl", "provenance.json", "bom.cdx.json", "validation-results.csv"} <= set(names)
    for name in names:
        tampered = forgery.with_attachments(pdf, {name: forgery.flip_middle_byte(attachments(pdf)[name])})
        assert attachments(tampered)[name] != attachments(pdf)[name]

        assert_refused(verdict(issued, tampered, tmp_path), "document signature", "the document signature does not")


def test_a_byte_changed_in_an_attachment_of_a_pack_signed_again_by_an_insider_is_refused(issued, tmp_path) -> None:
    """Signed with the portal's own certificate after the change: the manifest still gives the old digest."""
    unsigned = forgery.unsigned_revision(issued.pdf.read_bytes())
    changed = forgery.with_attachments(unsigned, {"bom.cdx.json": b" " + attachments(unsigned)["bom.cdx.json"]})

    found = verdict(issued, forgery.signed(changed, *issued.signing_key_files), tmp_path)

    assert_refused(found, "embedded files", "bom.cdx.json was altered: its SHA-256 is")


def figure_overlaid(writer: IncrementalPdfFileWriter) -> None:
    """A white box over a figure on the first page and another figure written on it: 99.9%."""
    font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/Forged"): writer.add_object(font)})}
    )
    content = b"q 1 1 1 rg 60 700 120 20 re f 0 0 0 rg BT /Forged 12 Tf 62 705 Td (99.9%) Tj ET Q"
    stream = writer.add_object(generic.StreamObject(stream_data=content))
    writer.add_stream_to_page(0, stream, resources=resources)


def test_a_visible_figure_changed_on_a_page_is_refused(issued, tmp_path) -> None:
    tampered = forgery.appended(issued.pdf.read_bytes(), figure_overlaid)
    assert "99.9%" in text(tampered)

    assert_refused(verdict(issued, tampered, tmp_path), "document signature", "something was appended after")


def test_a_visible_figure_changed_and_the_file_written_again_is_refused(issued, tmp_path) -> None:
    original = issued.pdf.read_bytes()
    tampered = forgery.rewritten(forgery.appended(original, figure_overlaid), lambda _writer: None)
    assert "99.9%" in text(tampered)

    assert_refused(verdict(issued, tampered, tmp_path), "document signature")


def test_a_page_removed_is_refused(issued, tmp_path) -> None:
    pdf = issued.pdf.read_bytes()

    def remove_last_page(writer: PdfWriter) -> None:
        writer.remove_page(len(writer.pages) - 1)

    tampered = forgery.rewritten(pdf, remove_last_page)
    assert len(PdfReader(io.BytesIO(tampered)).pages) == len(PdfReader(io.BytesIO(pdf)).pages) - 1

    assert_refused(verdict(issued, tampered, tmp_path), "document signature")


def test_a_page_removed_in_an_incremental_update_is_refused(issued, tmp_path) -> None:
    pdf = issued.pdf.read_bytes()

    def remove_last_page(writer: IncrementalPdfFileWriter) -> None:
        pages = writer.root["/Pages"]
        pages["/Kids"] = generic.ArrayObject(list(pages["/Kids"])[:-1])
        pages["/Count"] = generic.NumberObject(len(pages["/Kids"]))
        writer.update_container(pages)

    tampered = forgery.appended(pdf, remove_last_page)
    assert len(PdfReader(io.BytesIO(tampered)).pages) == len(PdfReader(io.BytesIO(pdf)).pages) - 1

    assert_refused(verdict(issued, tampered, tmp_path), "document signature", "something was appended after")


def test_an_appended_annotation_is_refused(issued, tmp_path) -> None:
    def annotate(writer: IncrementalPdfFileWriter) -> None:
        note = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Text"),
                pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, (50, 50, 70, 70))),
                pdf_name("/Contents"): pdf_string("Approved by the board"),
            }
        )
        page_ref, _resources = writer.find_page_for_modification(0)
        writer.register_annotation(page_ref, writer.add_object(note))

    tampered = forgery.appended(issued.pdf.read_bytes(), annotate)
    assert PdfReader(io.BytesIO(tampered)).pages[0]["/Annots"]

    assert_refused(verdict(issued, tampered, tmp_path), "document signature", "something was appended after")


def test_an_appended_new_title_is_refused(issued, tmp_path) -> None:
    def retitle(writer: IncrementalPdfFileWriter) -> None:
        writer.set_info(generic.DictionaryObject({pdf_name("/Title"): pdf_string("Evidence pack (corrected)")}))

    tampered = forgery.appended(issued.pdf.read_bytes(), retitle)
    assert PdfReader(io.BytesIO(tampered)).metadata.title == "Evidence pack (corrected)"

    assert_refused(verdict(issued, tampered, tmp_path), "document signature", "something was appended after")


def test_the_signature_stripped_is_refused(issued, tmp_path) -> None:
    stripped = forgery.unsigned_revision(issued.pdf.read_bytes())
    assert attachments(stripped) == attachments(issued.pdf.read_bytes())

    assert_refused(verdict(issued, stripped, tmp_path), "document signature", "the PDF carries no document signature")


def test_a_pack_signed_again_with_another_certificate_is_refused(issued, tmp_path) -> None:
    resigned = forgery.signed(
        forgery.unsigned_revision(issued.pdf.read_bytes()), *forgery.forgers_certificate(tmp_path)
    )

    found = verdict(issued, resigned, tmp_path)

    assert_refused(found, "document signature", "the document signature was not made with a trusted")
    assert "CN=Test Portal evidence signing" in found.failure  # the forger's certificate bears the portal's name


def changed_ledger(pdf: bytes) -> bytes:
    """ledger.jsonl with its first entry's actor renamed, nothing else changed."""
    rows = forgery.ledger_lines(pdf)
    rows[0]["entry"]["actor_name"] = "someone else"
    return forgery.jsonl(rows)


@pytest.mark.parametrize("signer", ["none: the signed file rewritten", "a forger's certificate", "the portal's own"])
def test_the_manifest_rewritten_with_consistent_hashes_is_refused(issued, tmp_path, signer) -> None:
    pdf = issued.pdf.read_bytes()
    if signer.startswith("none"):
        tampered = forgery.with_manifest_consistent(pdf, {"ledger.jsonl": changed_ledger(pdf)})
        failed = ("document signature", "the document signature does not match")
    else:
        unsigned = forgery.unsigned_revision(pdf)
        changed = forgery.with_manifest_consistent(unsigned, {"ledger.jsonl": changed_ledger(unsigned)})
        keys = issued.signing_key_files if signer == "the portal's own" else forgery.forgers_certificate(tmp_path)
        tampered = forgery.signed(changed, *keys)
        failed = (
            ("hash chain", "ledger entry #")
            if signer == "the portal's own"
            else ("document signature", "the document signature was not made with a trusted")
        )
    assert manifest(tampered)["files"]["ledger.jsonl"] != manifest(pdf)["files"]["ledger.jsonl"]

    assert_refused(verdict(issued, tampered, tmp_path), *failed)


def test_a_slice_rechained_but_not_in_the_checkpoint_is_refused(issued, tmp_path) -> None:
    """An insider changes an entry and computes every hash after it again: the Merkle proofs no longer lead to the
    signed checkpoint's root."""
    unsigned = forgery.unsigned_revision(issued.pdf.read_bytes())
    rows = forgery.rechained(forgery.ledger_lines(unsigned), lambda entry: entry.update(actor_name="someone else"))
    changed = forgery.with_manifest_consistent(unsigned, {"ledger.jsonl": forgery.jsonl(rows)})

    found = verdict(issued, forgery.signed(changed, *issued.signing_key_files), tmp_path)

    assert_refused(found, "Merkle inclusion", f"ledger entry #{rows[0]['entry']['sequence']} is not included")


def forged_ledger(issued: Issued, unsigned: bytes, *, key_id_of: str) -> bytes:
    """The whole ledger part made again: a changed entry, the chain, the Merkle tree and proofs, and a checkpoint
    signed with another Ed25519 key, named by its own key id or by the portal's."""
    rows = forgery.rechained(forgery.ledger_lines(unsigned), lambda entry: entry.update(actor_name="someone else"))
    rows, root = forgery.reproved(rows, issued.entry_hashes)
    key, forged_key_id = forgery.ed25519_key()
    original = manifest(unsigned)
    statement = {
        **original["checkpoint"]["statement"],
        "root_hash": root.hex(),
        "key_id": forged_key_id if key_id_of == "the forger" else original["checkpoint"]["statement"]["key_id"],
    }
    ledger = forgery.jsonl(rows)
    files = {**original["files"], "ledger.jsonl": {"sha256": forgery.sha256(ledger), "size": len(ledger)}}
    forged = {**forgery.with_checkpoint(original, statement, key), "files": files}
    body = json.dumps(forged, indent=2, sort_keys=True).encode()
    return forgery.with_attachments(unsigned, {"ledger.jsonl": ledger, "manifest.json": body})


@pytest.mark.parametrize("key_id_of", ["the forger", "the portal"])
def test_the_whole_ledger_part_signed_again_with_another_key_is_refused(issued, tmp_path, key_id_of) -> None:
    unsigned = forgery.unsigned_revision(issued.pdf.read_bytes())
    forged = forged_ledger(issued, unsigned, key_id_of=key_id_of)

    by_forger = verdict(issued, forgery.signed(forged, *forgery.forgers_certificate(tmp_path)), tmp_path)
    by_insider = verdict(issued, forgery.signed(forged, *issued.signing_key_files), tmp_path)

    assert_refused(by_forger, "document signature", "the document signature was not made with a trusted")
    statement = manifest(forged)["checkpoint"]["statement"]
    if key_id_of == "the forger":
        reason = f"checkpoint {statement['tree_size']} names key '{statement['key_id']}', which is not a trusted key"
    else:
        reason = f"the signature of checkpoint {statement['tree_size']} does not verify with key {statement['key_id']}"
    assert_refused(by_insider, "checkpoint signature", reason)
    assert "ok  embedded files" in by_insider.stdout  # the manifest agrees with the forged files


def test_one_entry_dropped_from_the_slice_with_everything_else_made_consistent_is_refused(issued, tmp_path) -> None:
    """An insider with the document signing key drops one entry about an object (the last one, so the hash chain
    and the Merkle proofs of the others still hold), fixes the slice's figures and the manifest, and signs again:
    the counts the checkpoint signed for that object no longer match."""
    pdf = forgery.unsigned_revision(issued.pdf.read_bytes())
    rows = forgery.ledger_lines(pdf)
    about = [(row["entry"]["object_type"], row["entry"]["object_id"]) for row in rows]
    target = max(index for index, key in enumerate(about) if about.count(key) >= 2)
    kept = [row for index, row in enumerate(rows) if index != target]
    manifest = json.loads(attachments(pdf)["manifest.json"])
    manifest["ledger_slice"] = {
        "entries": len(kept),
        "first_sequence": kept[0]["entry"]["sequence"],
        "last_sequence": kept[-1]["entry"]["sequence"],
    }
    ledger = forgery.jsonl(kept)
    manifest["files"]["ledger.jsonl"] = {"sha256": sha256(ledger), "size": len(ledger)}
    changed = forgery.with_attachments(
        pdf, {"ledger.jsonl": ledger, "manifest.json": json.dumps(manifest, indent=2, sort_keys=True).encode()}
    )

    found = verdict(issued, forgery.signed(changed, *issued.signing_key_files), tmp_path)

    object_type, object_id = about[target]
    assert_refused(found, "completeness", "The ledger slice is incomplete for")
    assert f"{object_type} #{object_id}" in found.failure
