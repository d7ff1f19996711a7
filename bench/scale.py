"""The trust core at production scale (``make bench-scale``): checkpoints, proofs, evidence packs, the ledger browser
and the full verification with ten million ledger entries, each set against the same figure at ten thousand.

The ledger is filled with synthetic, correctly chained entries through COPY (``fast_rows``: the documents are
written as their RFC 8785 bytes directly, checked against ``canonical_bytes`` for the first rows), so that ten
million take minutes. The demo organisation is seeded first, so the evidence pack and the admin page are real ones.
Everything is timed as a median of repeated runs (``bench.timing``); every figure at scale comes with its ratio to
the small ledger's, which the machine's noise moves much less than the absolute time.
"""

import datetime
import os
import random
import time
from collections.abc import Callable, Iterator

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.canonical import canonical_bytes
from audit.checkpoints import ledger_checkpoint_create
from audit.ledger import GENESIS_HASH, chain_hash, entry_document
from audit.models import LedgerCheckpoint, LedgerEntry
from audit.tree import StoredTree
from audit.verification import verify_chain
from bench.ledger import isolated_checkpoints, load_rows
from bench.lineage_pages import verify_second_factor
from bench.registry import seed_demo
from bench.timing import median_ms
from evidence import builder
from registry.models import ModelVersion

SMALL = 10_000
#: Smaller for a quick try of the bench itself (the figures' names still say 10m).
LARGE = int(os.environ.get("BENCH_SCALE_ENTRIES", 10_000_000))
#: New entries before each timed checkpoint.
NEW_PER_CHECKPOINT = 1_000
#: Rows per COPY transaction.
BATCH = 200_000
ACTOR_NAME = "service:bench"


def fast_rows(first: int, stop: int, prev_hash: bytes, recorded_at: datetime.datetime) -> Iterator[tuple]:
    """Ledger rows ``first .. stop - 1`` continuing the chain from ``prev_hash``: a view of one of 997 records each,
    the document written straight as its JCS bytes (keys in order, nothing to escape)."""
    step = datetime.timedelta(milliseconds=3)
    for sequence in range(first, stop):
        recorded_at += step
        stamp = recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        number = sequence % 997 + 1
        canonical = (
            f'{{"action":"view","actor_id":null,"actor_name":"{ACTOR_NAME}","object_id":"{number}",'
            f'"object_label":"Record {number}","object_type":"bench.record","payload":{{"n":{sequence}}},'
            f'"recorded_at":"{stamp}","request_id":"","sequence":{sequence}}}'
        ).encode()
        entry_hash = chain_hash(prev_hash, canonical)
        yield (
            sequence,
            recorded_at,
            None,
            ACTOR_NAME,
            "view",
            "bench.record",
            str(number),
            f"Record {number}",
            "",
            canonical,
            prev_hash,
            entry_hash,
        )
        prev_hash = entry_hash


def _check_fast_rows_are_canonical() -> None:
    """The written bytes are exactly what ``audit.ledger.append`` would hash, or the bench measures a forgery."""
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for row in fast_rows(1, 50, GENESIS_HASH, start):
        document = entry_document(
            sequence=row[0],
            recorded_at=row[1],
            actor_id=None,
            actor_name=ACTOR_NAME,
            action="view",
            object_type="bench.record",
            object_id=row[6],
            object_label=row[7],
            request_id="",
            payload={"n": row[0]},
        )
        if canonical_bytes(document) != row[9]:
            raise RuntimeError(f"fast_rows wrote #{row[0]} other than its canonical bytes")


def grow_to(total: int) -> None:
    """Extend the ledger to ``total`` entries by COPY (``bench.ledger.load_rows``), ``BATCH`` rows a transaction, each
    batch continuing the chain from the tail the last one left."""
    while True:
        last, prev_hash, recorded_at = (
            LedgerEntry.objects.order_by("-sequence").values_list("sequence", "entry_hash", "recorded_at").first()
        )
        if last >= total:
            return
        load_rows(fast_rows(last + 1, min(last + 1 + BATCH, total + 1), bytes(prev_hash), recorded_at))


def tail() -> int:
    return LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()


def checkpoint_ms(runs: int) -> float:
    """A checkpoint after ``NEW_PER_CHECKPOINT`` new entries (median of ``runs``)."""
    timings = []
    for _ in range(runs):
        grow_to(tail() + NEW_PER_CHECKPOINT)
        started = time.perf_counter()
        if ledger_checkpoint_create() is None:
            raise RuntimeError("no checkpoint was made")
        timings.append(time.perf_counter() - started)
    timings.sort()
    return timings[len(timings) // 2] * 1_000


def proof_ms(prove: Callable[[StoredTree, int], list[bytes]], size: int) -> float:
    """One proof from a fresh (uncached) read of the stored tree, at random positions (median of 101)."""
    positions = iter(random.Random(size).sample(range(1, size), 121))  # noqa: S311 (positions, not secrets)
    return median_ms(lambda: prove(StoredTree(size), next(positions)), warmup=20, runs=101)[0]


def pack_seconds(model: ModelVersion) -> float:
    return median_ms(lambda: builder.build_pack(use_case=model.use_case, model_version=model), warmup=1, runs=3)[0]


def admin_first_page(client: Client) -> tuple[float, int]:
    """The audit ledger browser's first page: (median milliseconds, queries)."""
    url = reverse("admin:audit_ledgerentry_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"the ledger browser answered {response.status_code}")
    return median_ms(lambda: client.get(url), warmup=3, runs=21)[0], len(queries)


def measure(model: ModelVersion, client: Client) -> dict[str, float]:
    size = LedgerCheckpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    page_ms, page_queries = admin_first_page(client)
    return {
        "checkpoint": checkpoint_ms(5),
        "inclusion": proof_ms(lambda stored, index: stored.inclusion_proof(index), size),
        "consistency": proof_ms(lambda stored, old: stored.consistency_proof(old), size),
        "pack": pack_seconds(model),
        "admin": page_ms,
        "admin_queries": page_queries,
    }


def run() -> Iterator[tuple[str, float, str]]:
    if connection.vendor != "postgresql":
        raise SystemExit("make bench-scale needs PostgreSQL: set DATABASE_URL=postgres://...")
    _check_fast_rows_are_canonical()
    with isolated_checkpoints():
        seed_demo()
        model = ModelVersion.objects.select_related("use_case").get(name="support-assistant", number=1)
        client = Client()
        auditor = get_user_model().objects.get(username="auditor")
        client.force_login(auditor)
        verify_second_factor(client, auditor)
        grow_to(SMALL - NEW_PER_CHECKPOINT * 6)
        ledger_checkpoint_create()
        small = measure(model, client)

        started = time.perf_counter()
        grow_to(LARGE - NEW_PER_CHECKPOINT * 6)
        yield "ledger_fill_entries_per_s", (LARGE - SMALL) / (time.perf_counter() - started), "entries/s"
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(LedgerEntry._meta.db_table)}")
        started = time.perf_counter()
        ledger_checkpoint_create()  # the first checkpoint of the filled ledger stores all its tiles
        yield "tree_first_store_seconds_10m", time.perf_counter() - started, "s"
        large = measure(model, client)

        yield "checkpoint_seconds_10m", large["checkpoint"] / 1_000, "s"
        yield "checkpoint_scaling_ratio", large["checkpoint"] / small["checkpoint"], "ratio"
        yield "inclusion_proof_ms_10m", large["inclusion"], "ms"
        yield "inclusion_proof_scaling_ratio", large["inclusion"] / small["inclusion"], "ratio"
        yield "consistency_proof_ms_10m", large["consistency"], "ms"
        yield "consistency_proof_scaling_ratio", large["consistency"] / small["consistency"], "ratio"
        yield "evidence_pack_seconds_10m", large["pack"] / 1_000, "s"
        yield "evidence_pack_ledger_scaling_ratio", large["pack"] / small["pack"], "ratio"
        yield "ledger_admin_first_page_ms_10m", large["admin"], "ms"
        yield "ledger_admin_scaling_ratio", large["admin"] / small["admin"], "ratio"
        yield "ledger_admin_queries_10m_minus_10k", large["admin_queries"] - small["admin_queries"], "queries"

        total = tail()
        started = time.perf_counter()
        report = verify_chain()
        elapsed = time.perf_counter() - started
        if not report.ok or report.entries_checked != total:
            raise RuntimeError(f"verify_chain: ok={report.ok}, {report.entries_checked} of {total}: {report.message}")
        yield "ledger_verify_entries_per_s", total / elapsed, "entries/s"
        yield "ledger_verify_tiles_checked", float(report.tiles_checked), "tiles"
