"""``verify_ledger`` against the stored tree: it recomputes every tile from the entries and names one that differs;
``--since-last`` checks only what followed the last verified checkpoint, bound to it through the stored tree; a
checkpoint made while entries are appended stays consistent with the next; a ledger from before the stored tree
gets its tiles on the next checkpoint run."""

import itertools
from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from audit import ledger, merkle
from audit.checkpoints import ledger_checkpoint_create
from audit.choices import LedgerAction
from audit.models import LedgerCheckpoint, LedgerEntry, LedgerTreeTile, LedgerVerification
from audit.tree import TILE_WIDTH, StoredTree
from audit.verification import verify_chain
from tests import services
from tests.audit.test_ledger_tree import alter_tile, scratch_tiles, stored_tiles
from tests.audit.test_verify_ledger import broken_at, fill, tamper, verify
from tests.concurrency import run_at_once
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db


def verify_since_last() -> str:
    out = StringIO()
    call_command("verify_ledger", "--since-last", stdout=out)
    return out.getvalue()


def newest_run() -> LedgerVerification:
    return LedgerVerification.objects.order_by("-started_at", "-id").first()


def all_entry_hashes() -> list[bytes]:
    return [bytes(value) for value in LedgerEntry.objects.order_by("sequence").values_list("entry_hash", flat=True)]


# --- The full run -----------------------------------------------------------------------------------------------


def test_a_full_run_holds_every_stored_tile_against_the_entries_and_names_an_altered_one() -> None:
    fill(2 * TILE_WIDTH + 10)
    ledger_checkpoint_create()
    assert "2 stored tree tiles verified" in verify()
    assert newest_run().verified_tree_size == 2 * TILE_WIDTH + 10

    alter_tile(0, 1, bytes(32) + stored_tiles()[(0, 1)][0][32:])

    sequence, message = broken_at()
    assert sequence == TILE_WIDTH + 1
    assert "stored tree tile 0/1" in message
    assert "altered" in message
    assert newest_run().verified_tree_size is None


def test_a_ledger_from_before_the_stored_tree_gets_its_tiles_on_the_next_checkpoint_run() -> None:
    fill(TILE_WIDTH + 3)
    ledger_checkpoint_create()
    with triggers_lifted(LedgerTreeTile._meta.db_table) as cursor:
        cursor.execute(f'DELETE FROM "{LedgerTreeTile._meta.db_table}"')  # noqa: S608 (the model's own table)
    assert not LedgerTreeTile.objects.exists()

    assert ledger_checkpoint_create() is None  # nothing new to checkpoint, but the tiles are stored

    assert stored_tiles() == scratch_tiles(all_entry_hashes()[: TILE_WIDTH + 3])
    assert "1 stored tree tiles verified" in verify()


# --- Since the last verified checkpoint ------------------------------------------------------------------------


def test_since_last_checks_only_the_entries_after_the_last_verified_checkpoint() -> None:
    fill(300)
    ledger_checkpoint_create()
    verify()
    fill(50)  # after the checkpoint's own entry, #301; this checkpoint's entry is #352
    ledger_checkpoint_create()

    output = verify_since_last()

    run = newest_run()
    assert run.ok
    assert run.since_last
    assert (run.base_tree_size, run.entries_checked, run.verified_tree_size) == (300, 52, 351)
    assert "52 entries" in output
    assert "after the checkpoint of 300 entries" in output


def test_since_last_goes_on_from_a_since_last_run() -> None:
    fill(10)
    ledger_checkpoint_create()
    verify()
    for _ in range(2):
        fill(5)
        ledger_checkpoint_create()
        verify_since_last()
    run = newest_run()
    assert run.ok
    assert (run.base_tree_size, run.verified_tree_size) == (16, 22)


def test_since_last_catches_an_edited_entry_after_the_verified_checkpoint() -> None:
    fill(300)
    ledger_checkpoint_create()
    verify()
    fill(50)
    ledger_checkpoint_create()
    tamper("UPDATE {t} SET canonical = %s WHERE sequence = 320", [b'{"edited": true}'])

    with pytest.raises(Exception, match="BROKEN at #320"):
        verify_since_last()
    assert newest_run().since_last


def test_an_edit_before_the_verified_checkpoint_is_the_full_runs_to_find_and_then_only_a_full_run_clears_it() -> None:
    fill(20)
    ledger_checkpoint_create()
    verify()
    tamper("UPDATE {t} SET canonical = %s WHERE sequence = 5", [b'{"edited": true}'])
    fill(3)
    ledger_checkpoint_create()

    verify_since_last()  # not what the frequent check reads: the daily one does
    assert newest_run().ok

    assert broken_at()[0] == 5
    with pytest.raises(Exception, match="BROKEN at #5"):
        verify_since_last()  # runs in full after a failure
    assert not newest_run().since_last


def test_since_last_refuses_a_stored_tree_that_does_not_hash_to_the_verified_checkpoint() -> None:
    fill(TILE_WIDTH + 40)
    ledger_checkpoint_create()
    verify()
    fill(5)
    ledger_checkpoint_create()
    table = LedgerTreeTile._meta.db_table
    with triggers_lifted(table) as cursor:
        cursor.execute(f'UPDATE "{table}" SET root = %s WHERE level = 0 AND "index" = 0', [bytes(32)])  # noqa: S608

    with pytest.raises(Exception, match=f"BROKEN at #{TILE_WIDTH + 40}: .*stored tree does not hash"):
        verify_since_last()


def test_since_last_with_nothing_verified_yet_is_a_full_run() -> None:
    fill(4)
    ledger_checkpoint_create()

    verify_since_last()

    run = newest_run()
    assert run.ok
    assert not run.since_last
    assert run.entries_checked == 5


def test_the_frequent_check_is_scheduled_between_the_daily_full_runs(settings) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["ledger-verify-since-last"]["task"] == "audit.tasks.verify_ledger_since_last"
    assert schedule["ledger-verify-since-last"]["schedule"] < schedule["ledger-verify"]["schedule"]


# --- Checkpoints while the ledger grows ---------------------------------------------------------------------------


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_checkpoints_made_while_entries_are_appended_stay_consistent_with_the_next() -> None:
    def writer(number: int) -> None:
        for step in range(150):
            with transaction.atomic():
                ledger.append(action=LedgerAction.EXPORT, payload={"writer": number, "step": step}, actor_name="t")

    def checkpointer() -> None:
        for _ in range(40):
            ledger_checkpoint_create()

    outcomes = run_at_once(partial(writer, 1), partial(writer, 2), checkpointer, checkpointer, timeout=300)
    for outcome in outcomes:
        outcome.get()
    ledger_checkpoint_create()

    sizes = list(LedgerCheckpoint.objects.order_by("tree_size").values_list("tree_size", "root_hash"))
    assert len(sizes) > 2
    for (old_size, old_root), (new_size, new_root) in itertools.pairwise(sizes):
        assert merkle.verify_consistency(
            old_size=old_size,
            new_size=new_size,
            old_root=bytes(old_root),
            new_root=bytes(new_root),
            proof=StoredTree(new_size).consistency_proof(old_size),
        )
    newest = sizes[-1][0]
    assert stored_tiles() == scratch_tiles(all_entry_hashes()[:newest])
    report = verify_chain()
    assert report.ok, report.message


def test_an_auditor_browses_the_stored_tree_tile_by_tile(client, auditor) -> None:
    from django.urls import reverse

    from tests.audit.test_audit_admin import signed_in

    fill(TILE_WIDTH + 1)
    ledger_checkpoint_create()
    tile = LedgerTreeTile.objects.get(level=0, index=0)
    signed_in(client, auditor)

    listing = client.get(reverse("admin:audit_ledgertreetile_changelist"))
    page = client.get(reverse("admin:audit_ledgertreetile_change", args=[tile.pk]))

    assert listing.status_code == 200
    assert f"#1 to #{TILE_WIDTH}".encode() in listing.content
    assert bytes(tile.root).hex().encode() in page.content
    assert merkle.leaf_hash(all_entry_hashes()[0]).hex().encode() in page.content
