"""The ledger helper: a gapless hash chain stamped with actor and request, in the caller's transaction."""

import hashlib
import json

import pytest
import rfc8785
from django.db import transaction

from audit import ledger
from audit.audit_context import AuditContext, _current, acting_as
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from audit.models.ledger import GENESIS_HASH

pytestmark = pytest.mark.django_db


def test_first_entry_links_to_the_genesis_hash_and_later_ones_to_their_predecessor() -> None:
    first = ledger.append(action=LedgerAction.EXPORT, object_label="one", actor_name="system:test")
    second = ledger.append(action=LedgerAction.EXPORT, object_label="two", actor_name="system:test")

    assert (first.sequence, second.sequence) == (1, 2)
    assert bytes(first.prev_hash) == GENESIS_HASH
    assert bytes(second.prev_hash) == bytes(first.entry_hash)


def test_entry_hash_is_sha256_of_prev_hash_and_the_jcs_bytes_of_the_entry() -> None:
    entry = ledger.append(action=LedgerAction.EXPORT, payload={"b": 2, "a": [1.5, "x"]}, actor_name="system:test")

    document = json.loads(bytes(entry.canonical))
    assert bytes(entry.canonical) == rfc8785.dumps(document)
    assert bytes(entry.entry_hash) == hashlib.sha256(bytes(entry.prev_hash) + bytes(entry.canonical)).digest()
    assert document["payload"] == {"a": [1.5, "x"], "b": 2}
    assert document["recorded_at"].endswith("Z")


def test_actor_and_request_come_from_the_audit_context(author) -> None:
    token = _current.set(AuditContext(request_id="req-12345678"))
    try:
        with acting_as(author):
            entry = ledger.append(action=LedgerAction.EXPORT)
    finally:
        _current.reset(token)

    assert entry.actor == author
    assert entry.actor_name == "author (Ann Author)"
    assert entry.request_id == "req-12345678"


def test_a_named_service_actor_is_stored_as_text() -> None:
    with acting_as(actor_name="service:training-pipeline"):
        entry = ledger.append(action=LedgerAction.EXPORT)

    assert entry.actor is None
    assert entry.actor_name == "service:training-pipeline"


def test_an_entry_rolls_back_with_the_change_it_records() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")
        raise RuntimeError("the governed change failed")

    assert not LedgerEntry.objects.exists()


def test_a_denied_action_is_recorded_although_the_service_rolled_back(author) -> None:
    with pytest.raises(ledger.ActionDenied), ledger.denials_recorded(), transaction.atomic():
        ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")
        raise ledger.ActionDenied("not yours to approve", actor=author, attempted="approve")

    entry = LedgerEntry.objects.get()
    assert entry.action == LedgerAction.DENIED
    assert entry.actor == author
    assert entry.payload == {"attempted": "approve", "reason": "not yours to approve"}


def test_naive_datetimes_never_enter_the_ledger() -> None:
    import datetime

    with pytest.raises(ValueError, match="Naive datetime"):
        ledger.append(action=LedgerAction.EXPORT, payload={"at": datetime.datetime(2026, 1, 1)})
