"""Merkle proofs of inference records into their batch, and of the batch into the audit ledger.

A batch's root is the RFC 9162 Merkle Tree Hash over its records in ``position`` order; a record's leaf data is
SHA-256 of the RFC 8785 canonical JSON of its stored fields (all but its primary key and batch, which the leaf's
position in the batch's tree stands for, and the excerpts when empty), so the leaf hash is
``SHA-256(0x00 || SHA-256(JCS(record)))``. The root
and the count are in the batch's ledger entry: a record whose fields were changed in the database after it was
written no longer proves into that root.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import orjson

from audit import merkle
from audit.canonical import snapshot, utc_iso
from audit.models import LedgerEntry
from inference.models import InferenceBatch, InferenceRecord

#: Fields added after records were first sealed: in the leaf only when set, so that older records still prove.
_LATER_FIELDS = ("prompt_excerpt", "answer_excerpt")
_LEAF_FIELDS = [
    field for field in InferenceRecord._meta.concrete_fields if not field.primary_key and field.name != "batch"
]


def leaf_document(record: InferenceRecord) -> dict:
    """The record's fields as its leaf hashes them (JSON; canonicalised with RFC 8785 for the hash)."""
    fields = [field for field in _LEAF_FIELDS if field.name not in _LATER_FIELDS or getattr(record, field.name)]
    return snapshot(record, fields)


def leaf_bytes(document: dict[str, Any]) -> bytes:
    """The RFC 8785 bytes of a leaf document, from orjson with sorted keys.

    A leaf holds only ASCII keys, strings, integers well inside 2**53, booleans, null and lists of strings. For
    those, sorted keys, compact separators and unescaped non-ASCII are exactly JCS (the same seven short escapes,
    other control characters as lower-case ``\\u00xx``, UTF-8 out), at a small fraction of a general JCS encoder's
    cost; the tests hold it to ``audit.canonical.canonical_bytes`` on awkward text and to the standard library's
    encoder on every code point. Text orjson refuses (a lone surrogate) goes to the standard library's encoder,
    which refuses it as it always did."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return _LEAF_ENCODER.encode(document).encode()


_LEAF_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: A time as a leaf writes it (``audit.canonical.to_jsonable``'s form), without its general match: the intake
#: writes two per record.
iso_time = utc_iso


def row_leaf_data(document: dict[str, Any]) -> bytes:
    """Leaf data of a record the intake has as its leaf document (``inference.record_rows``), not as a model."""
    return hashlib.sha256(leaf_bytes(document)).digest()


def leaf_data(record: InferenceRecord) -> bytes:
    return row_leaf_data(leaf_document(record))


def batch_root(records: list[InferenceRecord]) -> str:
    return merkle.root([leaf_data(record) for record in records]).hex()


@dataclass(frozen=True)
class RecordProof:
    """A record's inclusion proof into its batch's root, and the ledger entry that root was sealed in."""

    index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes
    ledger_sequence: int | None

    def holds(self) -> bool:
        return merkle.verify_inclusion(
            leaf_hash=self.leaf_hash, index=self.index, tree_size=self.tree_size, proof=self.path, root=self.root
        )


def sealed_root(batch: InferenceBatch) -> tuple[bytes, int] | None:
    """``(root, count)`` as the batch's ledger entry recorded them, or None without one."""
    entry = LedgerEntry.objects.filter(sequence=batch.ledger_sequence).first() if batch.ledger_sequence else None
    sealed = (entry.payload.get("inference_batch") or {}) if entry is not None else {}
    try:
        return bytes.fromhex(sealed["merkle_root"]), int(sealed["records"])
    except (KeyError, TypeError, ValueError):
        return None


def record_proof(record: InferenceRecord) -> RecordProof:
    """The proof of ``record`` against the root its batch's ledger entry sealed (the batch row's own copy of the
    root is not trusted: it is an ordinary row)."""
    batch = record.batch
    records = list(batch.records.order_by("position"))
    leaves = [leaf_data(item) for item in records]
    index = next(i for i, item in enumerate(records) if item.pk == record.pk)
    sealed = sealed_root(batch)
    root, size = sealed if sealed is not None else (b"", len(leaves))
    return RecordProof(
        index=index,
        tree_size=size,
        leaf_hash=merkle.leaf_hash(leaf_data(record)),
        path=merkle.inclusion_proof(leaves, index) if size == len(leaves) else [],
        root=root,
        ledger_sequence=batch.ledger_sequence,
    )


def record_is_proven(record: InferenceRecord) -> bool:
    """The record, as stored now, is the one its batch's ledger entry sealed."""
    return record_proof(record).holds()
