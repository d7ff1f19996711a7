"""Signed Merkle checkpoints of the ledger, kept in the database and sent out of its reach as they are made.

A checkpoint commits to the first ``tree_size`` entries: its root is the RFC 9162 Merkle Tree Hash whose
leaves are the entries' ``entry_hash`` bytes. Each new checkpoint stores the tree's newly filled tiles
(``audit.tree``), takes its root and a consistency proof from the previous checkpoint from them, and is refused if
that proof does not verify. It also advances the object heads map (``audit.heads``) by its new entries and signs
its root, which lets an evidence pack prove its ledger slice complete. So a checkpoint costs its new entries plus
O(log n) reads; that the entries under the stored tiles are still what they hashed to is ``verify_ledger``'s to check,
which recomputes all of it.

Celery beat makes one within ``LEDGER_CHECKPOINT_INTERVAL_S`` of new entries. Once it has committed, it goes
where someone who controls the database cannot follow: a signed file in checkpoint storage (which
``verify_ledger`` holds the database and the ledger against), an event to the webhook subscriptions that chose
``ledger.checkpoint`` (the webhooks' ledger-fed outbox: the checkpoint's own ledger entry raises it), and a message
to the syslog receiver at ``LEDGER_SYSLOG_ADDRESS``. A rewrite or deletion of the ledger's tail then contradicts
copies the attacker cannot reach, and only entries younger than the interval are not yet covered by one.
"""

import base64
import datetime
import json
import logging
import socket
from logging.handlers import SysLogHandler
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import heads, ledger, merkle, signing_keys
from audit.canonical import canonical_bytes
from audit.choices import LedgerAction
from audit.models.ledger import LedgerCheckpoint, LedgerEntry
from audit.tree import TILE_WIDTH, StoredTree, store_tiles, stored_size
from audit.verification_keys import record_ledger_key

STATEMENT_KIND = "llm-governance-portal/ledger-checkpoint/v1"
SYSTEM_ACTOR = "system:checkpoint"
#: How syslog messages name their sender (the program name of RFC 3164).
SYSLOG_IDENT = "llm-governance-portal"

logger = logging.getLogger(__name__)


class CheckpointInconsistent(Exception):
    """The ledger's checkpointed prefix no longer matches the previous checkpoint."""


def checkpoint_storage() -> Storage:
    return storages["ledger_checkpoints"]


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
        "created_at": datetime.datetime.fromisoformat(statement["created_at"]),
    }


def _only_new_entry_is_the_last_checkpoint(tail: int, previous: LedgerCheckpoint | None) -> bool:
    if previous is None or tail != previous.tree_size + 1:
        return False
    return LedgerEntry.objects.filter(sequence=tail, action=LedgerAction.CHECKPOINT).exists()


def announcement(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    """What the checkpoint's ledger entry records and the webhook event and syslog message carry: the signed
    statement and its Ed25519 signature (over the statement's RFC 8785 bytes), which a receiver checks with the
    portal's public key, and the figures it states."""
    statement = json.loads(bytes(checkpoint.statement))
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash_hex,
        "key_id": checkpoint.key_id,
        "statement": statement,
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
    }


def _consistency(stored: StoredTree, root: bytes, previous: LedgerCheckpoint | None) -> dict[str, Any] | None:
    """The proof that the tree ``stored``, whose root is ``root``, extends ``previous``; raises if it does not."""
    if previous is None:
        return None
    proof = stored.consistency_proof(previous.tree_size)
    if not merkle.verify_consistency(
        old_size=previous.tree_size,
        new_size=stored.size,
        old_root=bytes(previous.root_hash),
        new_root=root,
        proof=proof,
    ):
        raise CheckpointInconsistent(
            f"The first {previous.tree_size} ledger entries no longer match the checkpoint made "
            f"at {previous.created_at:%Y-%m-%d %H:%M:%S} UTC."
        )
    return {
        "from_tree_size": previous.tree_size,
        "from_root_hash": previous.root_hash_hex,
        "proof": [node.hex() for node in proof],
    }


def _checkpoint_in_database() -> tuple[LedgerCheckpoint, dict[str, Any] | None] | None:
    """The new checkpoint, committed with its ledger entry (and so with its webhook deliveries), and its
    consistency proof from the previous one; None if nothing was appended since the last checkpoint."""
    with transaction.atomic():
        heads.lock(shared=False)  # before the reads: a checkpoint committed meanwhile is seen
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        previous = LedgerCheckpoint.objects.order_by("-tree_size").first()
        if tail == 0 or (previous and previous.tree_size >= tail):
            return None
        # A checkpoint from before the object heads map is followed by one that commits to it, even with nothing new.
        heads_known = previous is not None and heads.statement_root(previous) is not None
        if heads_known and _only_new_entry_is_the_last_checkpoint(tail, previous):
            return None
        # The new entries go into the stored tree; the root and the proof from the previous checkpoint are then
        # a few reads of it, whatever the size of the ledger. The heads map advances by the new entries alone.
        root = store_tiles(tail).root()
        consistency = _consistency(StoredTree(tail), root, previous)
        if heads_known:
            heads_root = heads.advance(from_size=previous.tree_size, to_size=tail)
        else:
            heads_root = heads.rebuild(to_size=tail)
        created_at = timezone.now()
        record_ledger_key()  # published for good from its first checkpoint
        statement = {
            "kind": STATEMENT_KIND,
            "tree_size": tail,
            "root_hash": root.hex(),
            "created_at": created_at,
            "key_id": signing_keys.key_id(),
            heads.STATEMENT_FIELD: heads_root.hex(),
        }
        statement_bytes = canonical_bytes(statement)
        checkpoint = LedgerCheckpoint.objects.create(
            tree_size=tail,
            root_hash=root,
            created_at=created_at,
            key_id=statement["key_id"],
            signature=signing_keys.sign(statement_bytes),
            statement=statement_bytes,
            file_name=file_name_for(tail),
        )
        ledger.append(
            action=LedgerAction.CHECKPOINT, obj=checkpoint, actor_name=SYSTEM_ACTOR, payload=announcement(checkpoint)
        )
    return checkpoint, consistency


def ledger_checkpoint_create() -> LedgerCheckpoint | None:
    """Checkpoint the ledger as it stands and send the checkpoint out of the database's reach; None if nothing was
    appended since the last checkpoint.

    Call it outside a transaction, as the task and the commands do: the copies go out once the checkpoint has
    committed, so nothing outside the database states a checkpoint the database never held. If the storage copy
    cannot be written, the checkpoint stays committed and this raises; the next call writes it."""
    try:
        made = _checkpoint_in_database()
    except IntegrityError:  # another process checkpointed the same entries at the same moment, and publishes them
        return None
    if made is None:
        newest = LedgerCheckpoint.objects.order_by("-tree_size").first()
        if newest is not None:
            _store_missing_tiles(newest)
            _store_missing_copy(newest)
        return None
    checkpoint, consistency = made
    _send_to_syslog(checkpoint)
    _write_file(checkpoint, consistency)
    return checkpoint


def _store_missing_tiles(newest: LedgerCheckpoint) -> None:
    """The tiles of entries the newest checkpoint covers that are not stored yet: a ledger from before the stored
    tree, which gets them on the first run even when nothing new awaits a checkpoint."""
    if stored_size() >= newest.tree_size - newest.tree_size % TILE_WIDTH:
        return
    try:
        with transaction.atomic():
            if store_tiles(newest.tree_size).root() != bytes(newest.root_hash):
                raise CheckpointInconsistent(
                    f"The first {newest.tree_size} ledger entries no longer match their checkpoint."
                )
    except IntegrityError:  # another process stored them at the same moment
        return


def _store_missing_copy(newest: LedgerCheckpoint) -> None:
    """The newest checkpoint's storage copy, if an earlier call committed the checkpoint but failed to store it."""
    if checkpoint_storage().exists(newest.file_name):
        return
    stored = StoredTree(newest.tree_size)
    root = bytes(newest.root_hash)
    if stored.root() != root:
        raise CheckpointInconsistent(f"The first {newest.tree_size} ledger entries no longer match their checkpoint.")
    previous = LedgerCheckpoint.objects.filter(tree_size__lt=newest.tree_size).order_by("-tree_size").first()
    _write_file(newest, _consistency(stored, root, previous))


def _write_file(checkpoint: LedgerCheckpoint, consistency: dict[str, Any] | None) -> None:
    """The signed copy in checkpoint storage. The storage may be write-once: a copy already there is kept if it
    states the same root."""
    storage = checkpoint_storage()
    if storage.exists(checkpoint.file_name):
        with storage.open(checkpoint.file_name, "rb") as existing:
            if parse_file(existing.read())["root_hash"] != bytes(checkpoint.root_hash):
                raise CheckpointInconsistent(
                    f"{checkpoint.file_name} already exists outside the database with a different root hash."
                )
        return
    signed = announcement(checkpoint)
    document = {
        "statement": signed["statement"],
        "signature": signed["signature"],
        "public_key": base64.b64encode(signing_keys.public_key_bytes()).decode(),
        "consistency": consistency,
    }
    storage.save(checkpoint.file_name, ContentFile(json.dumps(document, indent=2, sort_keys=True).encode()))


class _RaisingSysLogHandler(SysLogHandler):
    """Lets a failed send reach the caller, which logs it, instead of printing a traceback to standard error."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise  # ``emit`` calls this from its ``except`` block: the send's own error


def _send_to_syslog(checkpoint: LedgerCheckpoint) -> None:
    """One UDP message to ``LEDGER_SYSLOG_ADDRESS``: ``<PRI>llm-governance-portal: ledger-checkpoint {JSON}``, the
    JSON being ``announcement``. Best effort, as UDP is: a failure is logged as an error, the checkpoint stands."""
    address = settings.LEDGER_SYSLOG_ADDRESS
    if not address:
        return
    message = "ledger-checkpoint " + canonical_bytes(announcement(checkpoint)).decode()
    record = logging.makeLogRecord({"name": __name__, "levelno": logging.INFO, "levelname": "INFO", "msg": message})
    handler: SysLogHandler | None = None
    try:
        handler = _RaisingSysLogHandler(
            address=tuple(address), facility=SysLogHandler.LOG_AUTH, socktype=socket.SOCK_DGRAM
        )
        handler.ident = f"{SYSLOG_IDENT}: "
        handler.append_nul = False
        handler.emit(record)
    except OSError as error:
        logger.error(
            "Ledger checkpoint of %s entries not sent to syslog at %s:%s: %s", checkpoint.tree_size, *address, error
        )
    finally:
        if handler is not None:
            handler.close()
