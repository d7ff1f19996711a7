"""``verify_ledger`` and checkpoints: tampering, even by someone who can drop the triggers, is caught."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from governance import append_only, ledger, signing_keys
from governance.checkpoints import checkpoint_storage, ledger_checkpoint_create
from governance.choices import LedgerAction
from governance.models import LedgerCheckpoint, LedgerEntry, LedgerVerification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_checkpoint_storage() -> None:
    storage = checkpoint_storage()
    for name in storage.listdir("")[1] if storage.exists("") else []:
        storage.delete(name)


def fill(count: int) -> None:
    for number in range(count):
        ledger.append(action=LedgerAction.EXPORT, object_label=f"entry {number}", payload={"n": number}, actor_name="t")


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def tamper(sql: str, params: list | None = None) -> None:
    """What an attacker with the database owner's rights does: drop the triggers, rewrite, restore them."""
    table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no DDL while foreign-key checks are pending
        for statement in append_only.drop_statements(connection.vendor, table):
            cursor.execute(statement)
        cursor.execute(sql.format(t=table), params or [])
        for statement in append_only.create_statements(connection.vendor, table):
            cursor.execute(statement)


def broken_at() -> tuple[int | None, str]:
    with pytest.raises(CommandError) as raised:
        verify()
    assert raised.value.returncode == 1
    run = LedgerVerification.objects.order_by("-started_at").first()
    return run.first_broken_sequence, str(raised.value)


def test_an_intact_ledger_verifies_and_the_run_is_kept() -> None:
    fill(25)
    ledger_checkpoint_create()

    output = verify()

    assert "26 entries and 2 checkpoints verified" in output  # 25 + the checkpoint entry; row + file
    assert LedgerVerification.objects.get().ok


def test_an_empty_ledger_verifies() -> None:
    assert "0 entries" in verify()


def test_an_edited_payload_is_caught_at_its_sequence_number() -> None:
    fill(10)
    entry = LedgerEntry.objects.get(sequence=7)
    forged = bytes(entry.canonical).replace(b'"n":6', b'"n":60')

    tamper("UPDATE {t} SET canonical = %s WHERE sequence = 7", [forged])

    sequence, message = broken_at()
    assert sequence == 7
    assert "#7" in message
    assert "does not match the entry's contents" in message


def test_an_edited_column_is_caught_even_though_the_hashed_bytes_are_intact() -> None:
    fill(5)

    tamper("UPDATE {t} SET actor_name = 'somebody else' WHERE sequence = 3")

    sequence, message = broken_at()
    assert sequence == 3
    assert "actor_name" in message


def test_a_deleted_entry_in_the_middle_is_caught() -> None:
    fill(6)

    tamper("DELETE FROM {t} WHERE sequence = 4")

    sequence, message = broken_at()
    assert sequence == 4
    assert "missing" in message


def test_a_deleted_tail_is_caught_against_the_checkpoint() -> None:
    fill(12)
    ledger_checkpoint_create()  # covers 12 entries, then writes entry 13 about itself

    tamper("DELETE FROM {t} WHERE sequence >= 10")

    sequence, message = broken_at()
    assert sequence == 10
    assert "deleted tail" in message


def test_a_deleted_tail_with_its_database_checkpoint_is_caught_against_the_file() -> None:
    fill(8)
    ledger_checkpoint_create()
    tamper("DELETE FROM {t} WHERE sequence >= 6")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        table = LedgerCheckpoint._meta.db_table
        for statement in append_only.drop_statements(connection.vendor, table):
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        for statement in append_only.create_statements(connection.vendor, table):
            cursor.execute(statement)

    sequence, message = broken_at()
    assert sequence == 6
    assert "checkpoint file" in message


def test_a_rewritten_history_that_recomputes_every_hash_is_caught_by_the_checkpoint() -> None:
    fill(5)
    ledger_checkpoint_create()
    # The attacker rebuilds a consistent chain from entry 2 on, with different content.
    rows = list(LedgerEntry.objects.order_by("sequence"))
    tamper("DELETE FROM {t} WHERE sequence >= 2")
    prev = bytes(rows[0].entry_hash)
    for row in rows[1:]:
        canonical = bytes(row.canonical).replace(b'"entry ', b'"forged ')
        document = json.loads(canonical)
        entry_hash = ledger.chain_hash(prev, canonical)
        tamper(
            "INSERT INTO {t} (sequence, recorded_at, actor_name, action, object_type, object_id,"
            " object_label, request_id, canonical, prev_hash, entry_hash)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                row.sequence,
                row.recorded_at,
                row.actor_name,
                row.action,
                row.object_type,
                row.object_id,
                document["object_label"],
                row.request_id,
                canonical,
                prev,
                entry_hash,
            ],
        )
        prev = entry_hash

    sequence, message = broken_at()
    assert sequence == 5
    assert "do not match" in message


def test_a_checkpoint_file_with_a_forged_signature_is_caught() -> None:
    fill(3)
    checkpoint = ledger_checkpoint_create()
    storage = checkpoint_storage()
    with storage.open(checkpoint.file_name, "rb") as handle:
        document = json.loads(handle.read())
    document["statement"]["tree_size"] = 2
    storage.delete(checkpoint.file_name)
    storage.save(checkpoint.file_name, __import__("io").BytesIO(json.dumps(document).encode()))

    _sequence, message = broken_at()
    assert "invalid signature" in message


def test_checkpoints_are_signed_with_the_configured_key_and_chain_by_consistency_proofs() -> None:
    fill(4)
    first = ledger_checkpoint_create()
    fill(3)
    second = ledger_checkpoint_create()

    assert (first.tree_size, second.tree_size) == (4, 8)
    assert signing_keys.verify(bytes(second.statement), bytes(second.signature))
    with checkpoint_storage().open(second.file_name, "rb") as handle:
        document = json.loads(handle.read())
    assert document["consistency"]["from_tree_size"] == 4
    assert document["consistency"]["proof"]


def test_no_new_checkpoint_when_nothing_but_the_last_checkpoint_was_appended() -> None:
    fill(2)
    ledger_checkpoint_create()

    assert ledger_checkpoint_create() is None
    assert LedgerCheckpoint.objects.count() == 1


def test_a_checkpoint_refuses_to_extend_a_rewritten_prefix() -> None:
    from governance.checkpoints import CheckpointInconsistent

    fill(4)
    ledger_checkpoint_create()
    tamper("UPDATE {t} SET entry_hash = %s WHERE sequence = 2", [b"\x01" * 32])
    fill(1)

    with pytest.raises(CheckpointInconsistent, match="no longer match"):
        ledger_checkpoint_create()


def test_the_scheduled_verification_records_a_failure_for_the_landing_page() -> None:
    from governance.tasks import verify_ledger_chain

    fill(3)
    tamper("UPDATE {t} SET object_label = 'x' WHERE sequence = 2")

    result = verify_ledger_chain.delay().get()

    assert result == {"ok": False, "entries": 1, "first_broken_sequence": 2}
    assert not LedgerVerification.objects.get().ok


def test_beat_schedules_checkpoints_and_verification() -> None:
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"governance.tasks.make_ledger_checkpoint", "governance.tasks.verify_ledger_chain"} <= tasks
