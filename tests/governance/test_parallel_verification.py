"""On PostgreSQL a long ledger is verified as two halves in two processes; the findings are those of one pass."""

import pytest
from django.db import connection

from governance import append_only, ledger
from governance.checkpoints import checkpoint_storage, ledger_checkpoint_create
from governance.choices import LedgerAction
from governance.models import LedgerEntry
from governance.verification import _split, verify_chain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _empty_checkpoint_storage() -> None:
    storage = checkpoint_storage()
    for name in storage.listdir("")[1] if storage.exists("") else []:
        storage.delete(name)


def fill(count: int) -> None:
    for number in range(count):
        ledger.append(action=LedgerAction.EXPORT, object_label=f"entry {number}", payload={"n": number}, actor_name="t")


def tamper(sql: str, params: list | None = None) -> None:
    table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        for statement in append_only.drop_statements(connection.vendor, table):
            cursor.execute(statement)
        cursor.execute(sql.format(t=table), params or [])
        for statement in append_only.create_statements(connection.vendor, table):
            cursor.execute(statement)


def both_ways() -> tuple:
    parallel, single = verify_chain(parallel_from=2), verify_chain(parallel_from=10**9)
    return parallel, single


def test_split_is_the_largest_power_of_two_below_the_size() -> None:
    assert [_split(n) for n in (2, 3, 4, 5, 300, 1024, 1025)] == [1, 2, 2, 4, 256, 512, 1024]


def test_an_intact_ledger_with_checkpoints_on_both_sides_verifies_in_parallel() -> None:
    fill(100)
    ledger_checkpoint_create()  # 100 entries, then its own entry
    fill(198)
    ledger_checkpoint_create()  # 299, beyond the split at 256

    parallel, single = both_ways()

    assert parallel.ok, parallel.message
    assert (parallel.entries_checked, parallel.checkpoints_checked) == (single.entries_checked, 4) == (300, 4)


@pytest.mark.parametrize("sequence", [7, 256, 257, 290])
def test_an_edit_in_either_half_or_at_the_seam_is_found_at_its_sequence(sequence: int) -> None:
    fill(300)
    tamper("UPDATE {t} SET actor_name = 'forged' WHERE sequence = %s", [sequence])

    parallel, single = both_ways()

    assert (
        (parallel.ok, parallel.first_broken_sequence) == (single.ok, single.first_broken_sequence) == (False, sequence)
    )
    assert "actor_name" in parallel.message


def test_a_broken_link_at_the_seam_is_found() -> None:
    fill(300)
    tamper("UPDATE {t} SET prev_hash = %s WHERE sequence = 257", [b"\x07" * 32])

    parallel, _single = both_ways()

    assert parallel.first_broken_sequence == 257
    assert "prev_hash" in parallel.message


def test_a_rewritten_right_half_is_caught_by_a_checkpoint_beyond_the_seam() -> None:
    fill(290)
    ledger_checkpoint_create()  # covers 290
    row = LedgerEntry.objects.get(sequence=280)
    forged = bytes(row.canonical).replace(b'"n":279', b'"n":2790')
    new_hash = ledger.chain_hash(bytes(row.prev_hash), forged)
    tamper("UPDATE {t} SET canonical = %s, entry_hash = %s WHERE sequence = 280", [forged, new_hash])

    parallel, single = both_ways()

    # The edited entry's own hash now fits, but the next entry no longer links to it.
    assert parallel.first_broken_sequence == single.first_broken_sequence == 281


def test_a_deleted_tail_is_caught_in_parallel() -> None:
    fill(299)
    ledger_checkpoint_create()  # 299 + its own entry
    tamper("DELETE FROM {t} WHERE sequence > 270")

    parallel, single = both_ways()

    assert parallel.first_broken_sequence == single.first_broken_sequence == 271
    assert "deleted tail" in parallel.message
