"""Checking an evidence pack against this portal: its embedded files, its checkpoint and today's ledger.

In order: the PAdES document signature over the whole file (``evidence.signing``); the manifest's SHA-256 of every
embedded file; the Ed25519 signature of the checkpoint statement (and that it is this portal's checkpoint); each ledger
entry of the slice, hash-linked as it claims and proved into the checkpoint's Merkle root; each entry still as it is
in the database; the slice complete, by the object heads the checkpoint signed; the PDF being a pack this portal
issued. The first failure is the reason.
"""

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field

from evidence_pack_verifier.completeness import completeness_problem
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from audit import merkle, signing_keys
from audit.canonical import canonical_bytes
from audit.checkpoints import STATEMENT_KIND
from audit.ledger import chain_hash
from audit.models import LedgerCheckpoint, LedgerEntry
from audit.verification_keys import ledger_public_keys
from evidence.builder import LEDGER, MANIFEST, MANIFEST_KIND
from evidence.models import EvidencePack
from evidence.signing import document_signature_problem


class PackInvalid(Exception):
    """The pack does not verify; the message says why."""


@dataclass
class PackReport:
    sha256: str
    files: list[str] = field(default_factory=list)
    entries: int = 0
    tree_size: int = 0
    pack_id: int | None = None


def _attachments(pdf: bytes) -> dict[str, bytes]:
    try:
        reader = PdfReader(io.BytesIO(pdf))
        found = reader.attachments
        return {name: contents[0] for name, contents in found.items() if contents}
    except (PyPdfError, ValueError, KeyError) as error:
        raise PackInvalid(f"Not a readable PDF: {error}") from error


def _check_files(attachments: dict[str, bytes]) -> dict:
    if MANIFEST not in attachments:
        raise PackInvalid("The PDF has no embedded manifest.json: it is not an evidence pack.")
    try:
        manifest = json.loads(attachments[MANIFEST])
    except ValueError as error:
        raise PackInvalid("manifest.json is not valid JSON.") from error
    if manifest.get("kind") != MANIFEST_KIND:
        raise PackInvalid("manifest.json is not an evidence pack manifest.")
    listed = manifest.get("files") or {}
    for name, entry in sorted(listed.items()):
        if name not in attachments:
            raise PackInvalid(f"{name} is listed in the manifest but not embedded.")
        digest = hashlib.sha256(attachments[name]).hexdigest()
        if digest != entry.get("sha256"):
            raise PackInvalid(f"{name} was altered: its SHA-256 is {digest}, the manifest says {entry.get('sha256')}.")
    extra = set(attachments) - set(listed) - {MANIFEST}
    if extra:
        raise PackInvalid(f"Embedded files not in the manifest: {', '.join(sorted(extra))}.")
    return manifest


def _check_checkpoint(manifest: dict) -> tuple[int, bytes]:
    claim = manifest.get("checkpoint") or {}
    statement = claim.get("statement") or {}
    if statement.get("kind") != STATEMENT_KIND:
        raise PackInvalid("The manifest carries no ledger checkpoint statement.")
    try:
        signature = base64.b64decode(claim["signature"], validate=True)
        tree_size = int(statement["tree_size"])
        root = bytes.fromhex(statement["root_hash"])
    except (KeyError, ValueError, TypeError) as error:
        raise PackInvalid("The checkpoint in the manifest is malformed.") from error
    public = ledger_public_keys().get(str(statement.get("key_id")), b"")
    if not signing_keys.verify(canonical_bytes(statement), signature, public):
        raise PackInvalid(
            f"The signature of checkpoint {tree_size} does not verify with this portal's ledger signing keys."
        )
    stored = LedgerCheckpoint.objects.filter(tree_size=tree_size).first()
    if stored is None or bytes(stored.root_hash) != root:
        raise PackInvalid(f"Checkpoint {tree_size} of the pack is not a checkpoint of this portal's ledger.")
    return tree_size, root


def _check_ledger(lines: bytes, *, tree_size: int, root: bytes) -> int:
    """Every entry: hash-linked, proved into the checkpoint, and unchanged in the database. Returns the count."""
    parsed = []
    for number, line in enumerate(lines.splitlines(), start=1):
        try:
            row = json.loads(line)
            entry = row["entry"]
            sequence = int(entry["sequence"])
            canonical = canonical_bytes(entry)
            entry_hash = bytes.fromhex(row["entry_hash"])
            prev_hash = bytes.fromhex(row["prev_hash"])
            proof = [bytes.fromhex(node) for node in row["inclusion_proof"]]
        except (KeyError, ValueError, TypeError) as error:
            raise PackInvalid(f"ledger.jsonl line {number} is malformed.") from error
        if chain_hash(prev_hash, canonical) != entry_hash:
            raise PackInvalid(f"Ledger entry #{sequence} in the pack does not match its own hash.")
        if not merkle.verify_inclusion(
            leaf_hash=merkle.leaf_hash(entry_hash), index=sequence - 1, tree_size=tree_size, proof=proof, root=root
        ):
            raise PackInvalid(f"Ledger entry #{sequence} is not included in checkpoint {tree_size} (Merkle proof).")
        parsed.append((sequence, canonical, entry_hash, prev_hash))
    stored = {
        row[0]: row[1:]
        for row in LedgerEntry.objects.filter(sequence__in=[p[0] for p in parsed]).values_list(
            "sequence", "canonical", "entry_hash", "prev_hash"
        )
    }
    for sequence, canonical, entry_hash, prev_hash in parsed:
        if sequence not in stored:
            raise PackInvalid(f"Ledger entry #{sequence} of the pack is missing from the database.")
        db_canonical, db_hash, db_prev = (bytes(value) for value in stored[sequence])
        if db_canonical != canonical or db_hash != entry_hash or db_prev != prev_hash:
            raise PackInvalid(f"Ledger entry #{sequence} in the database differs from the pack: it was rewritten.")
        if chain_hash(db_prev, db_canonical) != db_hash:
            raise PackInvalid(f"Ledger entry #{sequence} in the database does not match its own hash.")
    return len(parsed)


def verify_pack(pdf: bytes) -> PackReport:
    """Raises ``PackInvalid`` with the first reason the pack does not hold; returns what was checked."""
    report = PackReport(sha256=hashlib.sha256(pdf).hexdigest())
    attachments = _attachments(pdf)
    problem = document_signature_problem(pdf)
    if problem is not None:
        raise PackInvalid(f"The PDF is not as the portal signed it: {problem}.")
    manifest = _check_files(attachments)
    report.files = sorted(attachments)
    report.tree_size, root = _check_checkpoint(manifest)
    report.entries = _check_ledger(attachments[LEDGER], tree_size=report.tree_size, root=root)
    problem = completeness_problem(
        manifest,
        [json.loads(line)["entry"] for line in attachments[LEDGER].splitlines()],
        manifest["checkpoint"]["statement"],
    )
    if problem is not None:
        raise PackInvalid(problem)
    pack = EvidencePack.objects.filter(sha256=report.sha256).first()
    if pack is None:
        raise PackInvalid(f"No evidence pack with SHA-256 {report.sha256} was issued by this portal.")
    report.pack_id = pack.pk
    return report
