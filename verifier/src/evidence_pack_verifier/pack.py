"""The pack as read once: its bytes, its embedded files, its manifest, checkpoint statement and ledger slice.

Each part is read when a check first asks for it; a part that cannot be read raises ``CheckFailed`` for the check
that asked.
"""

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import rfc8785
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from evidence_pack_verifier.formats import CHECKPOINT_KIND, DOCUMENTS, LEDGER, MANIFEST, RECORD
from evidence_pack_verifier.report import CheckFailed

HASH_HEX = 64


@dataclass(frozen=True)
class LedgerRow:
    """One line of ``ledger.jsonl``: the entry as hashed (its RFC 8785 bytes), its hashes and its inclusion proof."""

    line: int
    sequence: int
    entry: dict[str, Any]
    canonical: bytes
    entry_hash: bytes
    prev_hash: bytes
    inclusion_proof: tuple[bytes, ...]


def _hash(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != HASH_HEX:
        raise ValueError("not a SHA-256 in hex")
    return bytes.fromhex(value)


def _row(line: int, text: bytes) -> LedgerRow:
    try:
        row = json.loads(text)
        entry = row["entry"]
        sequence = entry["sequence"]
        if not isinstance(entry, dict) or type(sequence) is not int or sequence < 1:
            raise ValueError("no positive sequence")
        return LedgerRow(
            line=line,
            sequence=sequence,
            entry=entry,
            canonical=rfc8785.dumps(entry),
            entry_hash=_hash(row["entry_hash"]),
            prev_hash=_hash(row["prev_hash"]),
            inclusion_proof=tuple(_hash(node) for node in row["inclusion_proof"]),
        )
    except (KeyError, ValueError, TypeError, rfc8785.CanonicalizationError) as error:
        raise CheckFailed(f"{LEDGER} line {line} is not a ledger entry with its hashes and proof ({error})") from None


class Pack:
    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.sha256 = hashlib.sha256(pdf).hexdigest()

    @cached_property
    def attachments(self) -> dict[str, bytes]:
        """Every embedded file by name; a name embedded twice is refused (which of the two would count?)."""
        try:
            found = PdfReader(io.BytesIO(self.pdf)).attachments
            files = {name: list(contents) for name, contents in found.items()}
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CheckFailed(f"its embedded files cannot be read ({error})") from None
        twice = sorted(name for name, contents in files.items() if len(contents) != 1)
        if twice:
            raise CheckFailed(f"embedded more than once: {', '.join(twice)}")
        return {name: contents[0] for name, contents in files.items()}

    def _json(self, name: str, missing: str = "") -> Any:
        """The embedded file ``name`` parsed as JSON; ``missing`` is added to the reason when it is not embedded."""
        if name not in self.attachments:
            raise CheckFailed(f"it embeds no {name}{missing}")
        try:
            return json.loads(self.attachments[name])
        except ValueError as error:
            raise CheckFailed(f"{name} is not JSON ({error})") from None

    @cached_property
    def manifest(self) -> dict[str, Any]:
        manifest = self._json(MANIFEST, ": it is not an evidence pack")
        if not isinstance(manifest, dict) or manifest.get("kind") not in DOCUMENTS:
            kinds = " or ".join(repr(kind) for kind in DOCUMENTS)
            raise CheckFailed(f"{MANIFEST} is not the manifest of an evidence pack or a statement (kind {kinds})")
        return manifest

    @property
    def kind(self) -> str:
        """The manifest's ``kind``: an evidence pack or an output provenance statement."""
        return self.manifest["kind"]

    @cached_property
    def record(self) -> dict[str, Any]:
        """A statement's ``record.json``: the answer's record as its leaf hashes it, its proof, and its batch."""
        document = self._json(RECORD)
        if not isinstance(document, dict):
            raise CheckFailed(f"{RECORD} is not an object")
        return document

    @cached_property
    def statement(self) -> dict[str, Any]:
        """The signed checkpoint statement the ledger slice is proved against."""
        claim = self.manifest.get("checkpoint")
        statement = claim.get("statement") if isinstance(claim, dict) else None
        if not isinstance(statement, dict) or statement.get("kind") != CHECKPOINT_KIND:
            raise CheckFailed(f"{MANIFEST} carries no ledger checkpoint statement (kind {CHECKPOINT_KIND!r})")
        return statement

    @property
    def tree_size(self) -> int:
        size = self.statement.get("tree_size")
        if type(size) is not int or size < 1:
            raise CheckFailed("the checkpoint's tree_size is not a positive integer")
        return size

    @property
    def root_hash(self) -> bytes:
        try:
            return _hash(self.statement.get("root_hash"))
        except ValueError:
            raise CheckFailed("the checkpoint's root_hash is not a SHA-256 in hex") from None

    @cached_property
    def ledger(self) -> list[LedgerRow]:
        if LEDGER not in self.attachments:
            raise CheckFailed(f"it embeds no {LEDGER}")
        return [_row(n, text) for n, text in enumerate(self.attachments[LEDGER].splitlines(), start=1)]

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The ledger entries of the slice as hashed, in the order of ``ledger.jsonl``."""
        return [row.entry for row in self.ledger]
