"""``verify_ledger`` and checkpoints: tampering, even by someone who can drop the triggers, is caught."""

import datetime
import json

import pytest
import rfc8785
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import audit_context, ledger, signing_keys, verification
from audit.checkpoints import checkpoint_storage, ledger_checkpoint_create
from audit.choices import LedgerAction
from audit.models import LedgerCheckpoint, LedgerEntry, LedgerVerification
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db


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
    with triggers_lifted(table) as cursor:
        cursor.execute(sql.format(t=table), params or [])


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

    # 25 + the checkpoint's entry; its row and its file; too few entries to fill a tile of the stored tree
    assert "26 entries, 2 checkpoints and 0 stored tree tiles verified" in output
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
    table = LedgerCheckpoint._meta.db_table
    with triggers_lifted(table) as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608

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
    from audit.checkpoints import CheckpointInconsistent

    fill(4)
    ledger_checkpoint_create()
    tamper("UPDATE {t} SET entry_hash = %s WHERE sequence = 2", [b"\x01" * 32])
    fill(1)

    with pytest.raises(CheckpointInconsistent, match="no longer match"):
        ledger_checkpoint_create()


def test_the_scheduled_verification_records_a_failure_for_the_landing_page() -> None:
    from audit.tasks import verify_ledger_chain

    fill(3)
    tamper("UPDATE {t} SET object_label = 'x' WHERE sequence = 2")

    result = verify_ledger_chain.delay().get()

    assert result == {"ok": False, "entries": 1, "first_broken_sequence": 2}
    assert not LedgerVerification.objects.get().ok


def test_beat_schedules_checkpoints_and_verification() -> None:
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.tasks.make_ledger_checkpoint", "audit.tasks.verify_ledger_chain"} <= tasks


# --- Every column, and the way PostgreSQL checks them (rendered beside the payload, or set aside) ----------


def append(label: str, **fields: object) -> LedgerEntry:
    return ledger.append(action=LedgerAction.EXPORT, object_label=label, payload={"label": label}, **fields)


def forge_last_entry(canonical: bytes) -> int:
    """Rewrite the last entry's hashed bytes and recompute its hash, as someone able to recompute it would:
    its hash and link hold, so only the check of the bytes themselves can find it."""
    last = LedgerEntry.objects.order_by("-sequence").first()
    tamper(
        "UPDATE {t} SET canonical = %s, entry_hash = %s WHERE sequence = %s",
        [canonical, ledger.chain_hash(bytes(last.prev_hash), canonical), last.sequence],
    )
    return last.sequence


def _recorded_at_a_second_later() -> list:
    later = LedgerEntry.objects.get(sequence=3).recorded_at + datetime.timedelta(seconds=1)
    return [connection.ops.adapt_datetimefield_value(later)]


def _another_user() -> list:
    return [get_user_model().objects.create_user(username="mallory").pk]


#: column -> (SET clause, its parameters, what the finding says)
SINGLE_COLUMN_TAMPERING = {
    "sequence": ("sequence = 100", list, "missing"),
    "recorded_at": ("recorded_at = %s", _recorded_at_a_second_later, "recorded_at"),
    "actor_id": ("actor_id = %s", _another_user, "actor_id"),
    "actor_name": ("actor_name = 'somebody else'", list, "actor_name"),
    "action": ("action = 'view'", list, "action"),
    "object_type": ("object_type = 'lineage.dataset'", list, "object_type"),
    "object_id": ("object_id = '42'", list, "object_id"),
    "object_label": ("object_label = 'entry 20'", list, "object_label"),
    "request_id": ("request_id = 'req-forged-0001'", list, "request_id"),
    "canonical": ("canonical = %s", lambda: [b"{}"], "does not match the entry's contents"),
    "prev_hash": ("prev_hash = %s", lambda: [b"\x02" * 32], "prev_hash does not link"),
    "entry_hash": ("entry_hash = %s", lambda: [b"\x03" * 32], "does not match the entry's contents"),
}


@pytest.mark.parametrize("column", SINGLE_COLUMN_TAMPERING)
def test_tampering_with_any_single_column_is_caught_at_its_sequence_number(column: str) -> None:
    fill(5)
    assignment, parameters, finding = SINGLE_COLUMN_TAMPERING[column]

    tamper(f"UPDATE {{t}} SET {assignment} WHERE sequence = 3", parameters())  # noqa: S608 (fixed statements)

    sequence, message = broken_at()
    assert sequence == 3
    assert finding in message


#: Column values JCS writes escaped in the hashed bytes: quote, backslash, control characters.
ESCAPED = ('say "hi"', "back\\slash", "two\nlines", "tab\there", "bell\x07")
#: Values written as they are: non-ASCII text, an apostrophe.
UNESCAPED = ("ünïcödé ✓ 数据", "it's")


def test_columns_holding_characters_that_jcs_escapes_verify() -> None:
    fill(2)
    for label in (*ESCAPED, *UNESCAPED):
        append(label, actor_name=f"service:{label}")

    assert f"{2 + len(ESCAPED) + len(UNESCAPED)} entries" in verify()


@pytest.mark.parametrize(
    ("label", "forged"),
    [
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("bell\x07", "bell\\u0007"),
    ],
)
def test_a_column_forged_to_the_escaped_text_of_its_value_is_caught(label: str, forged: str) -> None:
    """The forged value is, byte for byte, what the hashed bytes hold between the quotes: a check that
    compared the column's text with them unescaped would take it for the real one."""
    fill(2)
    append(label)
    fill(2)

    tamper("UPDATE {t} SET object_label = %s WHERE sequence = 3", [forged])

    sequence, message = broken_at()
    assert sequence == 3
    assert "object_label" in message


def test_hashed_bytes_that_are_not_json_are_a_finding() -> None:
    fill(3)

    sequence = forge_last_entry(b'{"action":"export",')

    found, message = broken_at()
    assert found == sequence
    assert "the hashed entry is not valid JSON" in message


def test_hashed_bytes_holding_a_raw_control_character_are_a_finding() -> None:
    """The column holds the character as it is and so do the forged hashed bytes, unescaped: they are not
    JSON, whatever the column says."""
    fill(2)
    ledger.append(action=LedgerAction.EXPORT, object_label="bell\x07", actor_name="t")
    canonical = bytes(LedgerEntry.objects.get(sequence=3).canonical)
    forged = canonical.replace(b"bell\\u0007", b"bell\x07")
    assert forged != canonical

    sequence = forge_last_entry(forged)

    found, message = broken_at()
    assert found == sequence
    assert "the hashed entry is not valid JSON" in message


def test_a_payload_that_smuggles_in_a_second_member_is_caught() -> None:
    fill(3)
    canonical = bytes(LedgerEntry.objects.get(sequence=3).canonical)
    smuggled = canonical.replace(b'"payload":{"n":2}', b'"payload":{"n":2},"object_label":"forged"')
    assert smuggled != canonical

    sequence = forge_last_entry(smuggled)

    found, message = broken_at()
    assert found == sequence
    assert "object_label" in message


def test_an_entry_whose_columns_need_a_closer_look_is_named_before_a_later_break() -> None:
    fill(1)
    append('say "hi"')  # 2: set aside on PostgreSQL, its columns compared after the stream
    fill(3)
    tamper("UPDATE {t} SET object_label = 'say hi' WHERE sequence = 2")
    tamper("UPDATE {t} SET canonical = %s WHERE sequence = 4", [b"{}"])

    sequence, message = broken_at()
    assert sequence == 2
    assert "object_label" in message
    assert LedgerVerification.objects.get().entries_checked == 1


@pytest.fixture
def set_aside(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sequence numbers of the entries the rendered comparison sets aside."""
    seen: list[int] = []
    check = verification._check_set_aside

    def recording(entries: list[tuple[int, bytes]]) -> None:
        seen.extend(sequence for sequence, _canonical in entries)
        check(entries)

    monkeypatch.setattr(verification, "_check_set_aside", recording)
    return seen


@pytest.mark.postgres(reason="the ledger verifier's PostgreSQL fast path")
def test_the_rendered_columns_are_the_hashed_bytes_around_the_payload(author) -> None:
    token = audit_context._current.set(audit_context.AuditContext(request_id="req-12345678"))
    try:
        with audit_context.acting_as(author):
            append("by a person")
        append("by a service", actor_name="service:pipeline")
        for label in UNESCAPED:
            append(label, actor_name="t")
    finally:
        audit_context._current.reset(token)

    with verification._rendered_rows(1, 10) as rows:
        rendered = list(rows)

    assert [row[0] for row in rendered] == [1, 2, 3, 4]
    for _sequence, _prev, _hash, canonical, head, tail in rendered:
        payload = rfc8785.dumps(json.loads(canonical)["payload"])
        assert head + payload + tail == canonical


@pytest.mark.postgres(reason="the ledger verifier's PostgreSQL fast path")
def test_ordinary_entries_are_confirmed_without_being_set_aside(author, set_aside: list[int]) -> None:
    fill(3)
    with audit_context.acting_as(author):
        append("by a person")
    for label in UNESCAPED:
        append(label)
    ledger_checkpoint_create()  # entry 7, about the first 6

    assert "7 entries, 2 checkpoints and 0 stored tree tiles verified" in verify()
    assert set_aside == []


@pytest.mark.postgres(reason="the ledger verifier's PostgreSQL fast path")
def test_entries_whose_columns_jcs_escapes_are_set_aside_and_then_confirmed(set_aside: list[int]) -> None:
    fill(1)
    for label in (*ESCAPED, *UNESCAPED):
        append(label)

    assert f"{1 + len(ESCAPED) + len(UNESCAPED)} entries" in verify()
    assert set_aside == list(range(2, 2 + len(ESCAPED)))


@pytest.mark.postgres(reason="the ledger verifier's PostgreSQL fast path")
def test_set_aside_entries_beyond_a_batch_are_checked_and_the_stream_resumes(
    monkeypatch: pytest.MonkeyPatch, set_aside: list[int]
) -> None:
    monkeypatch.setattr(verification, "SET_ASIDE", 2)
    for number in range(7):
        append(f'quoted "{number}"')
    fill(2)
    ledger_checkpoint_create()  # a Merkle root built across the interrupted streams

    assert "10 entries, 2 checkpoints and 0 stored tree tiles verified" in verify()
    assert set_aside == list(range(1, 8))

    tamper("UPDATE {t} SET object_label = 'quoted 5' WHERE sequence = 6")
    sequence, message = broken_at()
    assert sequence == 6
    assert "object_label" in message


@pytest.mark.postgres(reason="the server-side cursor is PostgreSQL's")
def test_without_chunked_streaming_a_server_side_cursor_reads_the_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setattr(psycopg.capabilities, "has_stream_chunked", lambda *args, **kwargs: False)
    monkeypatch.setattr(verification, "CHUNK", 2)
    fill(5)
    append('say "hi"')

    assert "6 entries" in verify()

    tamper("UPDATE {t} SET actor_name = 'somebody else' WHERE sequence = 4")
    sequence, message = broken_at()
    assert sequence == 4
    assert "actor_name" in message
