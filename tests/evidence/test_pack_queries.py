"""Building a pack reads the database a fixed number of times, however many records and ledger entries it covers:
related rows are fetched with their records, never one query per record while rendering."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.canonical import model_label
from audit.models import LedgerEntry
from evidence import builder
from evidence.collect import ledger_slice
from tests.evidence.helpers import attachments
from tests.registry.pages import prod_with_previous

pytestmark = pytest.mark.django_db

#: The queries of a pack over a checkpointed ledger: the records and their related rows, the signatures and
#: overrides of all of them at once, the digests signatures are checked against, the ledger slice, and the stored
#: tree's tiles that prove it (two or three a level of tiles, which grows by one for each 256-fold of the ledger:
#: 53 here, with two levels; room for four, which hold four billion entries). Of those, at most seven read once what
#: the pages show beside the records: the threshold revisions in force and their rules, the suites' cases counted,
#: the documents attached to dataset versions, the ledger's closing entries of rejected or cancelled tickets (only if
#: there are such tickets) and the count of monitoring summaries (only beyond those shown). Seven more read the
#: checkpoint's object heads of the scope (a lock and a savepoint, the checkpoint, the buckets' heads, their tiles, the
#: tiles' roots), however many objects.
#: The provenance completeness of the versions in scope: the versions with their runs and owners, the runs' data
#: links, the dataset versions' facts (three), the thresholds in effect and their rules, the latest validation runs,
#: the dimensions their results cover, and the latest model cards (``registry.completeness``), however many.
COMPLETENESS_QUERIES = 10
MAX_QUERIES = 68 + COMPLETENESS_QUERIES
#: A version that replaced another in production: that version found (one query, for every version's pack), then the
#: two compared: their runs (two), data links, the changed datasets' facts (five, only if a dataset changed), their
#: gate decisions and their cards.
COMPARISON_QUERIES = 11


def _queries_of_a_pack(**scope) -> int:
    builder.build_pack(**scope)  # checkpoints the ledger as it stands: what is counted next is the pack's own
    with CaptureQueriesContext(connection) as captured:
        builder.build_pack(**scope)
    return len(captured)


def test_a_pack_takes_a_bounded_number_of_queries_however_many_records_it_covers(world, promoted) -> None:
    one_version = _queries_of_a_pack(use_case=promoted.use_case, model_version=promoted)
    assert one_version <= MAX_QUERIES
    second = world.model()
    world.gate(second)
    world.gate(second)
    world.card(second)
    both_versions = _queries_of_a_pack(use_case=promoted.use_case)
    assert both_versions <= MAX_QUERIES


def test_the_ledger_slice_is_in_sequence_order_with_its_columns_kept_together(promoted) -> None:
    refs = {(model_label(promoted), str(promoted.pk)), (model_label(promoted.use_case), str(promoted.use_case.pk))}
    tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    entries = ledger_slice(refs, up_to=tail)
    expected = LedgerEntry.objects.filter(
        object_type__in=[t for t, _ in refs], object_id__in=[i for _, i in refs], sequence__lte=tail
    ).order_by("sequence")
    expected = [e for e in expected if (e.object_type, e.object_id) in refs]
    assert entries.sequences == [e.sequence for e in expected]
    assert entries.actions == [e.action for e in expected]
    assert entries.actor_names == [e.actor_name for e in expected]
    assert entries.canonicals == [bytes(e.canonical) for e in expected]
    assert entries.prev_hashes == [bytes(e.prev_hash) for e in expected]
    assert entries.entry_hashes == [bytes(e.entry_hash) for e in expected]
    assert (entries.first_sequence, entries.last_sequence) == (expected[0].sequence, expected[-1].sequence)
    assert len(ledger_slice(set(), up_to=tail)) == 0


def test_the_ledger_lines_carry_each_entrys_stored_bytes_unchanged(promoted) -> None:
    pdf = builder.build_pack(use_case=promoted.use_case, model_version=promoted).pdf
    for line in attachments(pdf)["ledger.jsonl"].splitlines():
        prefix, rest = line.split(b',"entry_hash":"', 1)
        stored = LedgerEntry.objects.get(entry_hash=bytes.fromhex(rest[:64].decode()))
        assert prefix == b'{"entry":' + bytes(stored.canonical)


def test_the_comparison_with_the_version_replaced_costs_a_fixed_number_of_queries(world) -> None:
    deployment = prod_with_previous(world)
    current = deployment.current_version

    assert _queries_of_a_pack(use_case=current.use_case, model_version=current) <= MAX_QUERIES + COMPARISON_QUERIES
