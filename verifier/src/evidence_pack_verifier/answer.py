"""An output provenance statement's answer record: the one production answer the statement is about is the record its
batch's ledger entry sealed.

``record.json`` carries the record as its Merkle leaf hashes it (``record``), where it sits in its batch's tree and
the path from it to the root (``inclusion_proof``), and the batch with the sequence of the ledger entry that sealed
that root (``batch``). The leaf is recomputed here, ``SHA-256(0x00 || SHA-256(RFC 8785 bytes of the record))``, and
proved (RFC 9162) into the root the batch's entry in ``ledger.jsonl`` states (``payload.inference_batch``:
``merkle_root`` over ``records`` leaves). That entry is already proved into the trusted checkpoint by the checks
before, so a record changed after it was sealed, a wrong path, or a root other than the sealed one fails here. The
root, size and leaf hash ``record.json`` states beside the proof are the portal's own reading: they must agree, but
are never what the record is proved against.
"""

import hashlib
from typing import Any

import rfc8785

from evidence_pack_verifier import merkle
from evidence_pack_verifier.formats import LEDGER, MANIFEST, RECORD
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust

#: The fields by which the manifest's scope names the answer, and the record must carry the same.
NAMED_BY = ("response_id", "trace_id", "span_id")


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _hashes(values: object) -> list[bytes] | None:
    if not isinstance(values, list):
        return None
    try:
        found = [bytes.fromhex(value) for value in values]
    except (TypeError, ValueError):
        return None
    return found if all(len(value) == hashlib.sha256().digest_size for value in found) else None


def _named(record: dict[str, Any]) -> str:
    trace, span = record.get("trace_id"), record.get("span_id")
    return f"the record of response {record.get('response_id')!r} (trace {trace}, span {span})"


def _sealed(pack: Pack, sequence: object, batch_id: object) -> tuple[bytes, int]:
    """The root and record count the batch's ledger entry sealed."""
    rows = [row for row in pack.ledger if row.sequence == sequence]
    if not rows:
        raise CheckFailed(f"{RECORD} names ledger entry #{sequence} as its batch's, which {LEDGER} does not carry")
    entry = rows[0].entry
    payload = entry.get("payload")
    sealed = payload.get("inference_batch") if isinstance(payload, dict) else None
    if not isinstance(sealed, dict):
        raise CheckFailed(f"ledger entry #{sequence}, named by {RECORD} as its batch's, seals no inference batch")
    if entry.get("object_id") != str(batch_id):
        raise CheckFailed(
            f"ledger entry #{sequence} seals batch {entry.get('object_id')}, {RECORD} says its batch is {batch_id}"
        )
    root, count = _hashes([sealed.get("merkle_root")]), sealed.get("records")
    if root is None or not _count(count):
        raise CheckFailed(f"ledger entry #{sequence} gives no Merkle root and record count for its batch")
    return root[0], count


def check(pack: Pack, trust: Trust) -> str:
    document = pack.record
    record, proof, batch = document.get("record"), document.get("inclusion_proof"), document.get("batch")
    if not (isinstance(record, dict) and isinstance(proof, dict) and isinstance(batch, dict)):
        raise CheckFailed(f"{RECORD} does not carry a record, its inclusion proof and its batch")
    named = _named(record)
    scope = pack.manifest.get("scope")
    for field in NAMED_BY:
        if not isinstance(scope, dict) or scope.get(field) != record.get(field):
            raise CheckFailed(f"{named} is not the answer {MANIFEST} names (its {field} differs)")
    try:
        leaf = merkle.leaf_hash(hashlib.sha256(rfc8785.dumps(record)).digest())
    except rfc8785.CanonicalizationError as error:
        raise CheckFailed(f"{named} cannot be hashed as its leaf ({error})") from None
    if document.get("leaf_hash") != leaf.hex():
        raise CheckFailed(f"{named} does not hash to the leaf {RECORD} states: it was changed")
    index, path = proof.get("index"), _hashes(proof.get("path"))
    if not _count(index) or path is None:
        raise CheckFailed(f"the inclusion proof of {named} is malformed")
    sequence = batch.get("ledger_sequence")
    root, count = _sealed(pack, sequence, batch.get("id"))
    stated = (proof.get("root"), proof.get("tree_size"))
    if stated != (root.hex(), count):
        raise CheckFailed(
            f"{RECORD} proves {named} into root {stated[0]} of {stated[1]} records, but ledger entry #{sequence} "
            f"sealed batch {batch.get('id')} with root {root.hex()} of {count} records"
        )
    if merkle.root_from_inclusion_proof(index, count, leaf, path) != root:
        raise CheckFailed(
            f"{named} is not included in the root ledger entry #{sequence} sealed for batch {batch.get('id')} "
            f"(Merkle proof from leaf {index} of {count})"
        )
    return (
        f"{named} is leaf {index} of the {count} records of batch {batch.get('id')}, whose root ledger entry "
        f"#{sequence} sealed"
    )
