"""Signed Merkle checkpoints of the ledger, kept in the database and, as files, outside it.

A checkpoint commits to the first ``tree_size`` entries: its root is the RFC 9162 Merkle Tree Hash whose
leaves are the entries' ``entry_hash`` bytes. Each new checkpoint carries a consistency proof from the
previous one and is refused if that proof does not verify, i.e. if the checkpointed prefix of the ledger
has changed since. The file copy lets ``verify_ledger`` catch a database rewritten wholesale.
"""

import base64
import json
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from audit import ledger, merkle, signing_keys
from audit.canonical import canonical_bytes
from audit.choices import LedgerAction
from audit.models.ledger import LedgerCheckpoint, LedgerEntry

STATEMENT_KIND = "llm-governance-portal/ledger-checkpoint/v1"
SYSTEM_ACTOR = "system:checkpoint"


class CheckpointInconsistent(Exception):
    """The ledger's checkpointed prefix no longer matches the previous checkpoint."""


def checkpoint_storage() -> Storage:
    return storages["ledger_checkpoints"]


def entry_hashes(up_to: int) -> list[bytes]:
    rows = LedgerEntry.objects.filter(sequence__lte=up_to).order_by("sequence").values_list("entry_hash", flat=True)
    return [bytes(value) for value in rows.iterator(chunk_size=20_000)]


def file_name_for(tree_size: int) -> str:
    return f"checkpoint-{tree_size:012d}.json"


def parse_file(raw: bytes) -> dict[str, Any]:
    """The checkpoint file's statement and signature; raises ValueError if malformed."""
    document = json.loads(raw)
    statement = document["statement"]
    signature = base64.b64decode(document["signature"], validate=True)
    if statement.get("kind") != STATEMENT_KIND:
        raise ValueError("not a ledger checkpoint")
    return {
        "statement": statement,
        "statement_bytes": canonical_bytes(statement),
        "signature": signature,
        "tree_size": int(statement["tree_size"]),
        "root_hash": bytes.fromhex(statement["root_hash"]),
    }


def _only_new_entry_is_the_last_checkpoint(tail: int, previous: LedgerCheckpoint | None) -> bool:
    if previous is None or tail != previous.tree_size + 1:
        return False
    return LedgerEntry.objects.filter(sequence=tail, action=LedgerAction.CHECKPOINT).exists()


def ledger_checkpoint_create() -> LedgerCheckpoint | None:
    """Checkpoint the ledger as it stands; None if nothing was appended since the last checkpoint."""
    with transaction.atomic():
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        previous = LedgerCheckpoint.objects.order_by("-tree_size").first()
        if tail == 0 or (previous and previous.tree_size >= tail):
            return None
        if _only_new_entry_is_the_last_checkpoint(tail, previous):
            return None
        leaves = entry_hashes(tail)
        root = merkle.root(leaves)
        consistency: dict[str, Any] | None = None
        if previous is not None:
            proof = merkle.consistency_proof(leaves, previous.tree_size)
            if not merkle.verify_consistency(
                old_size=previous.tree_size,
                new_size=tail,
                old_root=bytes(previous.root_hash),
                new_root=root,
                proof=proof,
            ):
                raise CheckpointInconsistent(
                    f"The first {previous.tree_size} ledger entries no longer match the checkpoint made "
                    f"at {previous.created_at:%Y-%m-%d %H:%M:%S} UTC."
                )
            consistency = {
                "from_tree_size": previous.tree_size,
                "from_root_hash": previous.root_hash_hex,
                "proof": [node.hex() for node in proof],
            }
        created_at = timezone.now()
        statement = {
            "kind": STATEMENT_KIND,
            "tree_size": tail,
            "root_hash": root.hex(),
            "created_at": created_at,
            "key_id": signing_keys.key_id(),
        }
        statement_bytes = canonical_bytes(statement)
        signature = signing_keys.sign(statement_bytes)
        file_name = file_name_for(tail)
        document = {
            "statement": json.loads(statement_bytes),
            "signature": base64.b64encode(signature).decode(),
            "public_key": base64.b64encode(signing_keys.public_key_bytes()).decode(),
            "consistency": consistency,
        }
        checkpoint = LedgerCheckpoint.objects.create(
            tree_size=tail,
            root_hash=root,
            created_at=created_at,
            key_id=statement["key_id"],
            signature=signature,
            statement=statement_bytes,
            file_name=file_name,
        )
        ledger.append(
            action=LedgerAction.CHECKPOINT,
            obj=checkpoint,
            actor_name=SYSTEM_ACTOR,
            payload={"tree_size": tail, "root_hash": root.hex(), "key_id": statement["key_id"]},
        )
        _write_file(file_name, document, root)
        return checkpoint


def _write_file(file_name: str, document: dict[str, Any], root: bytes) -> None:
    """Written last, so a storage failure rolls the checkpoint back. Checkpoint storage may be write-once:
    a file left by an attempt that wrote it and then failed to commit is kept if it states the same root."""
    storage = checkpoint_storage()
    if storage.exists(file_name):
        with storage.open(file_name, "rb") as existing:
            if parse_file(existing.read())["root_hash"] != root:
                raise CheckpointInconsistent(
                    f"{file_name} already exists outside the database with a different root hash."
                )
        return
    storage.save(file_name, ContentFile(json.dumps(document, indent=2, sort_keys=True).encode()))
