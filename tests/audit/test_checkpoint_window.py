"""No unwatched window after the newest checkpoint: one follows new entries within a minute, goes out of the
database's reach as it is made (checkpoint storage, syslog; the webhook event is in ``tests/webhooks``), and
``verify_ledger`` holds the database against the stored copies and fails when entries wait too long for one."""

import base64
import datetime
import json
import re
import socket
import time
from collections.abc import Iterator
from io import StringIO

import pytest
from celery.schedules import schedule
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from audit import ledger, signing_keys
from audit.canonical import canonical_bytes
from audit.checkpoints import checkpoint_storage, ledger_checkpoint_create
from audit.models import LedgerCheckpoint, LedgerEntry, LedgerVerification
from audit.tasks import make_ledger_checkpoint, verify_ledger_chain
from portal.celery import app
from tests import services
from tests.audit.test_audit_admin import signed_in
from tests.audit.test_verify_ledger import broken_at, fill, tamper, verify
from tests.concurrency import run_at_once
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production_window(settings) -> None:
    """The default allowance (twice the interval), which the test settings widen for every other test."""
    settings.LEDGER_CHECKPOINT_MAX_AGE_S = 2 * settings.LEDGER_CHECKPOINT_INTERVAL_S


def beat_tick(*, last_run_at: datetime.datetime, now: datetime.datetime) -> bool:
    """What Celery beat does at ``now`` about the ledger checkpoint, which it last ran at ``last_run_at``: it asks
    the entry's schedule, built from the settings as beat builds it, and runs the task if that says it is due."""
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-checkpoint"]
    due = schedule(datetime.timedelta(seconds=entry["schedule"]), nowfun=lambda: now).is_due(last_run_at).is_due
    if due:
        app.tasks[entry["task"]].delay()
    return due


def clock_at(monkeypatch: pytest.MonkeyPatch, moment: datetime.datetime) -> None:
    """From here on, the portal's clock (``timezone.now``) reads ``moment``."""
    monkeypatch.setattr(timezone, "now", lambda: moment)


def delete_checkpoints_beyond(tree_size: int) -> None:
    """The attacker also removes the database's checkpoints that would contradict the rewritten tail."""
    table = LedgerCheckpoint._meta.db_table
    with triggers_lifted(table) as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE tree_size > %s", [tree_size])  # noqa: S608


def rechain_from(sequence: int, forged: bytes) -> None:
    """Replace entry ``sequence``'s hashed bytes with ``forged`` and recompute every hash and link after it: the
    chain holds again, as someone able to lift the triggers would leave it."""
    rows = list(LedgerEntry.objects.filter(sequence__gte=sequence).order_by("sequence"))
    prev = bytes(rows[0].prev_hash)
    for row in rows:
        canonical = forged if row.sequence == sequence else bytes(row.canonical)
        entry_hash = ledger.chain_hash(prev, canonical)
        tamper(
            "UPDATE {t} SET canonical = %s, prev_hash = %s, entry_hash = %s WHERE sequence = %s",
            [canonical, prev, entry_hash, row.sequence],
        )
        prev = entry_hash


def stored_copy(checkpoint: LedgerCheckpoint) -> dict:
    with checkpoint_storage().open(checkpoint.file_name, "rb") as handle:
        return json.loads(handle.read())


def signed_by_the_portal(statement: dict, signature: str) -> bool:
    return signing_keys.verify(canonical_bytes(statement), base64.b64decode(signature))


# --- The schedule ------------------------------------------------------------------------------------------


def test_beat_checkpoints_new_entries_within_the_interval_setting_not_the_hour() -> None:
    now = timezone.now()

    assert settings.LEDGER_CHECKPOINT_INTERVAL_S == 60
    assert settings.CELERY_BEAT_SCHEDULE["ledger-checkpoint"]["schedule"] == settings.LEDGER_CHECKPOINT_INTERVAL_S
    fill(3)
    assert not beat_tick(last_run_at=now, now=now + datetime.timedelta(seconds=59))
    assert beat_tick(last_run_at=now, now=now + datetime.timedelta(seconds=60))
    assert LedgerCheckpoint.objects.get().tree_size == 3


def test_a_checkpoint_is_made_only_when_something_new_was_appended() -> None:
    fill(2)

    assert make_ledger_checkpoint.delay().get() == 2
    assert make_ledger_checkpoint.delay().get() is None  # its own entry is nothing new
    fill(1)
    assert make_ledger_checkpoint.delay().get() == 4


def test_without_celery_beat_the_command_keeps_checkpointing_at_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """``make run`` (a pilot: no broker, no beat) runs ``checkpoint_ledger --repeat`` beside the server."""
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:
            fill(2)  # appended while it sleeps
        else:
            raise KeyboardInterrupt  # Ctrl-C stops the pilot

    monkeypatch.setattr(time, "sleep", nap)
    fill(3)
    out = StringIO()

    call_command("checkpoint_ledger", "--repeat", stdout=out)

    assert naps == [settings.LEDGER_CHECKPOINT_INTERVAL_S] * 2
    assert list(LedgerCheckpoint.objects.order_by("tree_size").values_list("tree_size", flat=True)) == [3, 6]
    assert "Checkpoint at 6 entries" in out.getvalue()


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_checkpoints_of_the_same_entries_made_at_once_make_one() -> None:
    """Beat's run and an evidence pack's build can meet: one checkpoint is made, and neither fails."""
    fill(5)

    outcomes = run_at_once(*[ledger_checkpoint_create] * 4, timeout=60)

    made = [outcome.get() for outcome in outcomes]
    assert [checkpoint.tree_size for checkpoint in made if checkpoint is not None] == [5]
    assert LedgerCheckpoint.objects.count() == 1
    assert "Ledger OK" in verify()


# --- The attacks on the tail ---------------------------------------------------------------------------------


def entries_after_a_checkpoint_and_beat_a_minute_later() -> None:
    """Beat checkpoints 5 entries (entry 6 records it); entries 7..10 follow; a minute later beat runs again."""
    fill(5)
    last_run = timezone.now()
    make_ledger_checkpoint.delay()
    fill(4)
    beat_tick(last_run_at=last_run, now=last_run + datetime.timedelta(seconds=61))


def test_a_tail_deleted_after_the_newest_checkpoint_is_caught() -> None:
    """Entries appended after the newest checkpoint are covered by the next one a minute later, stored where the
    database's owner cannot reach; deleting them afterwards, with the checkpoints that cover them, is caught."""
    entries_after_a_checkpoint_and_beat_a_minute_later()

    tamper("DELETE FROM {t} WHERE sequence >= 8")
    delete_checkpoints_beyond(5)

    sequence, message = broken_at()
    assert sequence == 8
    assert "checkpoint file checkpoint-000000000010.json covers 10 entries but the ledger ends at #7" in message
    assert "deleted tail" in message


def test_a_tail_rewritten_after_the_newest_checkpoint_and_rechained_is_caught() -> None:
    entries_after_a_checkpoint_and_beat_a_minute_later()  # entry 8 holds {"n": 1}
    forged = bytes(LedgerEntry.objects.get(sequence=8).canonical).replace(b'"n":1}', b'"n":100}')
    assert forged != bytes(LedgerEntry.objects.get(sequence=8).canonical)

    rechain_from(8, forged)
    delete_checkpoints_beyond(5)

    sequence, message = broken_at()
    assert sequence == 10
    assert "the first 10 entries do not match the checkpoint file checkpoint-000000000010.json" in message


def test_a_stored_checkpoint_missing_from_the_database_is_a_finding() -> None:
    fill(4)
    ledger_checkpoint_create()

    delete_checkpoints_beyond(0)

    sequence, message = broken_at()
    assert sequence == 5
    assert "checkpoint file checkpoint-000000000004.json (of 4 entries) is missing from the database" in message


def test_a_stored_checkpoint_stating_another_root_than_the_database_is_a_finding() -> None:
    """Two signed statements of one tree size with different roots: one of them was made over another ledger."""
    fill(4)
    checkpoint = ledger_checkpoint_create()
    document = stored_copy(checkpoint)
    document["statement"]["root_hash"] = "ab" * 32
    document["signature"] = base64.b64encode(signing_keys.sign(canonical_bytes(document["statement"]))).decode()
    checkpoint_storage().delete(checkpoint.file_name)
    checkpoint_storage().save(checkpoint.file_name, ContentFile(json.dumps(document).encode()))

    sequence, message = broken_at()
    assert sequence == 4
    assert "the checkpoint file checkpoint-000000000004.json and the database checkpoint of 4 entries differ" in message


# --- How old the newest checkpoint is ------------------------------------------------------------------------


def test_verification_reports_the_entries_after_the_newest_stored_checkpoint_and_its_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(3)
    checkpoint = ledger_checkpoint_create()  # entry 4 records it
    fill(2)
    clock_at(monkeypatch, checkpoint.created_at + datetime.timedelta(seconds=30))

    output = verify()

    assert (
        "3 entries after the newest checkpoint outside the database (3 entries, made less than a minute before this run"
        in output
    )
    run = LedgerVerification.objects.get()
    assert (run.ok, run.entries_after_checkpoint, run.newest_checkpoint_size) == (True, 3, 3)
    assert run.newest_checkpoint_at == checkpoint.created_at


def test_a_stale_checkpoint_with_entries_after_it_fails_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    fill(3)
    checkpoint = ledger_checkpoint_create()
    fill(2)  # 5 and 6, and no checkpoint follows them
    later = checkpoint.created_at + datetime.timedelta(seconds=settings.LEDGER_CHECKPOINT_MAX_AGE_S + 60)
    clock_at(monkeypatch, later)

    sequence, message = broken_at()

    assert sequence == 5
    assert "not yet covered by a checkpoint outside the database (allowed: 120 s)" in message
    assert "the newest covers 3 entries and was made 3\xa0minutes ago, so the 3 entries after it could be" in message
    run = LedgerVerification.objects.get()
    assert (run.entries_after_checkpoint, run.newest_checkpoint_size) == (3, 3)


def test_an_old_checkpoint_with_only_its_own_entry_after_it_is_not_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    fill(3)
    checkpoint = ledger_checkpoint_create()
    clock_at(monkeypatch, checkpoint.created_at + datetime.timedelta(days=2))

    assert "Ledger OK" in verify()


def test_an_entry_after_a_quiet_spell_is_not_stale_until_it_has_waited_too_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What waits is the entry: a checkpoint from before a quiet night does not make the morning's first entry late."""
    fill(3)
    checkpoint = ledger_checkpoint_create()
    morning = checkpoint.created_at + datetime.timedelta(hours=8)
    clock_at(monkeypatch, morning)
    fill(1)
    clock_at(monkeypatch, morning + datetime.timedelta(seconds=settings.LEDGER_CHECKPOINT_MAX_AGE_S))

    assert "Ledger OK" in verify()

    clock_at(monkeypatch, morning + datetime.timedelta(seconds=settings.LEDGER_CHECKPOINT_MAX_AGE_S + 1))
    sequence, _message = broken_at()
    assert sequence == 5


def test_a_ledger_never_checkpointed_fails_once_its_first_entry_has_waited_too_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(2)
    clock_at(monkeypatch, timezone.now() + datetime.timedelta(seconds=settings.LEDGER_CHECKPOINT_MAX_AGE_S + 5))

    sequence, message = broken_at()

    assert sequence == 1
    assert "there is none, so all 2 entries could be rewritten unseen" in message
    assert LedgerVerification.objects.get().uncovered_tail() == "2 entries, and no checkpoint outside the database."


def test_a_stale_checkpoint_is_shown_on_the_landing_page_and_in_the_verification_log(
    client: Client, user_in_role, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(3)
    checkpoint = ledger_checkpoint_create()
    fill(1)
    clock_at(monkeypatch, checkpoint.created_at + datetime.timedelta(minutes=10))
    assert not verify_ledger_chain.delay().get()["ok"]
    signed_in(client, user_in_role(Role.AUDITOR))

    landing = client.get(reverse("admin:index")).content.decode()
    log = client.get(reverse("admin:audit_ledgerverification_changelist")).content.decode()

    assert "failed verification at entry #5" in landing
    assert "not yet covered by a checkpoint outside the database" in landing
    assert "2 entries after the newest checkpoint outside the database (3 entries, made 10\xa0minutes" in log


# --- Out of the database's reach ---------------------------------------------------------------------------------


def test_each_checkpoint_is_stored_as_it_is_made_signed_as_in_the_database() -> None:
    fill(3)

    tree_size = make_ledger_checkpoint.delay().get()

    checkpoint = LedgerCheckpoint.objects.get(tree_size=tree_size)
    document = stored_copy(checkpoint)
    assert canonical_bytes(document["statement"]) == bytes(checkpoint.statement)
    assert base64.b64decode(document["signature"]) == bytes(checkpoint.signature)
    assert signed_by_the_portal(document["statement"], document["signature"])


def test_a_checkpoint_storage_could_not_take_is_stored_by_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkpoint stays in the database; until its copy is stored, the tail counts as unwatched."""
    storage = checkpoint_storage()

    def bucket_down(*args: object, **kwargs: object) -> None:
        raise OSError("bucket down")

    fill(3)
    with monkeypatch.context() as failing:
        failing.setattr(type(storage), "save", bucket_down)
        with pytest.raises(OSError, match="bucket down"):
            make_ledger_checkpoint.delay()
    checkpoint = LedgerCheckpoint.objects.get()
    assert not storage.exists(checkpoint.file_name)
    verify()
    assert LedgerVerification.objects.latest("id").newest_checkpoint_size is None

    assert make_ledger_checkpoint.delay().get() is None  # nothing new to checkpoint, but the copy is stored now

    assert stored_copy(checkpoint)["statement"]["tree_size"] == 3
    verify()
    assert LedgerVerification.objects.latest("id").newest_checkpoint_size == 3


@pytest.fixture
def syslog_receiver(settings) -> Iterator[socket.socket]:
    """A syslog receiver: a UDP socket on loopback, named by ``LEDGER_SYSLOG_ADDRESS``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        settings.LEDGER_SYSLOG_ADDRESS = receiver.getsockname()
        yield receiver


def test_each_checkpoint_is_sent_to_the_syslog_receiver_as_it_is_made(syslog_receiver: socket.socket) -> None:
    fill(3)

    checkpoint = ledger_checkpoint_create()

    datagram = syslog_receiver.recv(65535).decode()
    # <PRI> for facility auth (4) at severity info (6), the program name, then the signed statement.
    matched = re.fullmatch(r"<38>llm-governance-portal: ledger-checkpoint (\{.*\})", datagram)
    assert matched, datagram
    sent = json.loads(matched.group(1))
    assert (sent["tree_size"], sent["root_hash"]) == (3, checkpoint.root_hash_hex)
    assert canonical_bytes(sent["statement"]) == bytes(checkpoint.statement)
    assert signed_by_the_portal(sent["statement"], sent["signature"])


def test_nothing_is_sent_to_syslog_when_no_checkpoint_is_made(syslog_receiver: socket.socket) -> None:
    fill(1)
    ledger_checkpoint_create()
    syslog_receiver.recv(65535)
    syslog_receiver.settimeout(0.5)

    assert ledger_checkpoint_create() is None

    with pytest.raises(TimeoutError):
        syslog_receiver.recv(65535)


def test_a_syslog_receiver_that_cannot_be_reached_is_logged_and_the_checkpoint_stands(
    settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unresolvable(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    settings.LEDGER_SYSLOG_ADDRESS = ("syslog.example.com", 514)
    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    fill(2)

    checkpoint = ledger_checkpoint_create()

    assert stored_copy(checkpoint)["statement"]["tree_size"] == 2
    assert "Ledger checkpoint of 2 entries not sent to syslog at syslog.example.com:514" in caplog.text
