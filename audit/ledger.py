"""The one place that writes the audit ledger.

``append`` serialises writers (a PostgreSQL transaction-scoped advisory lock; SQLite takes its database
write lock at BEGIN), reads the tail, and inserts the next entry, all inside the caller's transaction: a
governed change and its ledger entry commit or roll back together. The lock is held until that transaction
ends, which is what makes the chain gapless and unforked under concurrent writers; ``UNIQUE(prev_hash)``
is the backstop if anything ever got around the lock.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.utils import timezone

from audit import audit_context
from audit.canonical import canonical_bytes, model_label, to_jsonable
from audit.choices import LedgerAction
from audit.models.ledger import GENESIS_HASH, LedgerEntry

#: Arbitrary, fixed key of the PostgreSQL advisory lock that serialises ledger appends.
LEDGER_LOCK_KEY = 0x4C454447  # "LEDG"

#: The fields of ``canonical``, in the order the columns repeat them.
DOCUMENT_FIELDS = (
    "sequence",
    "recorded_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "request_id",
)


def chain_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(prev_hash + canonical).digest()


def entry_document(
    *,
    sequence: int,
    recorded_at: Any,
    actor_id: int | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str,
    request_id: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "recorded_at": to_jsonable(recorded_at),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_label": object_label,
        "request_id": request_id,
        "payload": payload,
    }


def _lock_tail() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])


def append(
    *,
    action: LedgerAction | str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    payload: dict[str, Any] | None = None,
    actor: AbstractBaseUser | None = None,
    actor_name: str = "",
) -> LedgerEntry:
    """Append one entry. Actor and request id default to the current audit context."""
    context = audit_context.current()
    if actor is None and not actor_name:
        actor, actor_name = context.actor, context.actor_name
    if obj is not None:
        object_type = object_type or model_label(obj)
        object_id = object_id or str(obj.pk)
        label = obj.ledger_label() if hasattr(obj, "ledger_label") else str(obj)
        object_label = object_label or label[:300]
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        _lock_tail()
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", "entry_hash").first()
        sequence, prev_hash = (tail[0] + 1, bytes(tail[1])) if tail else (1, GENESIS_HASH)
        recorded_at = timezone.now()
        document = entry_document(
            sequence=sequence,
            recorded_at=recorded_at,
            actor_id=actor_id,
            actor_name=audit_context.describe_actor(actor, actor_name)[:200],
            action=str(action),
            object_type=object_type,
            object_id=str(object_id)[:64],
            object_label=object_label[:300],
            request_id=context.request_id,
            payload=to_jsonable(payload or {}),
        )
        canonical = canonical_bytes(document)
        return LedgerEntry.objects.create(
            sequence=sequence,
            recorded_at=recorded_at,
            actor_id=actor_id,
            actor_name=document["actor_name"],
            action=document["action"],
            object_type=object_type,
            object_id=document["object_id"],
            object_label=document["object_label"],
            request_id=context.request_id,
            canonical=canonical,
            prev_hash=prev_hash,
            entry_hash=chain_hash(prev_hash, canonical),
        )


class ActionDenied(PermissionDenied):
    """A governed action refused for who is asking or for the state the record is in."""

    def __init__(self, reason: str, *, actor: AbstractBaseUser | None, attempted: str, obj: models.Model | None = None):
        super().__init__(reason)
        self.reason = reason
        self.actor = actor
        self.attempted = attempted
        self.obj = obj


@contextmanager
def denials_recorded() -> Iterator[None]:
    """Wrap a service's ``transaction.atomic()`` block: an ``ActionDenied`` raised inside it rolls the
    service's work back and is then recorded in the ledger, outside that rolled-back transaction.

        with denials_recorded(), transaction.atomic():
            ...
            raise ActionDenied("Only the Legal reviewer may approve", actor=actor, attempted="approve", obj=v)
    """
    try:
        yield
    except ActionDenied as denial:
        record_denial(actor=denial.actor, attempted=denial.attempted, obj=denial.obj, reason=denial.reason)
        raise


def record_denial(
    *, actor: AbstractBaseUser | None, attempted: str, obj: models.Model | None = None, reason: str
) -> LedgerEntry:
    """A refused attempt at a governed action is itself evidence.

    Call it before raising ``PermissionDenied``. It commits with the caller's transaction, so a caller that
    turns the refusal into a message (admin views, API views) keeps it; a caller that lets the exception
    escape its own ``atomic`` block rolls it back along with everything else.
    """
    return append(
        action=LedgerAction.DENIED,
        obj=obj,
        actor=actor,
        payload={"attempted": attempted, "reason": reason},
    )
