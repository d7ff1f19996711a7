"""Audit-ledger throughput: appends through ``audit.ledger.append`` one transaction each, and a full
``verify_chain`` over a ledger of a million entries (a smaller one on SQLite), set against the bare rate of
the SHA-256 chaining it has to do.

The big ledger is not written through ``append`` (far too slow for a benchmark); it is built here with the
ledger module's own functions (``entry_document``, ``canonical_bytes``, ``chain_hash``), continuing the chain
from the current tail, and bulk-loaded: COPY on PostgreSQL, batched ``executemany`` on SQLite. The
verification must pass over it: a benchmark of a verifier that finds the chain broken is worthless.
"""

import datetime
import hashlib
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings

from audit import audit_context, signing_keys
from audit.canonical import canonical_bytes
from audit.choices import LedgerAction
from audit.ledger import GENESIS_HASH, append, chain_hash, entry_document
from audit.models.ledger import LedgerEntry
from audit.verification import verify_chain

WARMUP = 20
APPENDS = 2_000
#: Entries in the ledger when it is verified (everything appended before counts towards it).
VERIFY_ENTRIES = 1_000_000
VERIFY_ENTRIES_SQLITE = 100_000
#: Rows built and loaded per transaction.
BATCH = 50_000
#: Canonical documents kept in memory for the bare SHA-256 chaining rate.
SHA256_SAMPLE = 200_000

ACTOR_NAME = "service:bench"
COLUMNS = (
    "sequence",
    "recorded_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "request_id",
    "canonical",
    "prev_hash",
    "entry_hash",
)
OBJECT_TYPES = (
    ("lineage.datasetversion", "Dataset {n} v{v}"),
    ("lineage.dataset", "Dataset {n}"),
    ("registry.modelversion", "Model {n} v{v}"),
    ("registry.model", "Model {n}"),
    ("evidence.evidenceitem", "Evidence {n}: evaluation report"),
    ("audit.signature", "Signature {n}"),
)
#: Roughly how often each action occurs in a working ledger (updates and views dominate).
ACTIONS = (
    (LedgerAction.UPDATE,) * 5
    + (LedgerAction.VIEW,) * 3
    + (LedgerAction.CREATE,) * 2
    + (LedgerAction.TRANSITION,) * 2
    + (
        LedgerAction.SIGN,
        LedgerAction.EXPORT,
        LedgerAction.DOWNLOAD,
        LedgerAction.DENIED,
        LedgerAction.DELETE,
        LedgerAction.OVERRIDE,
    )
)
STATUSES = ("draft", "in_review", "approved", "released", "retired")


def _payload(action: str, sequence: int) -> dict[str, Any]:
    status = STATUSES[sequence % len(STATUSES)]
    following = STATUSES[(sequence + 1) % len(STATUSES)]
    if action == LedgerAction.UPDATE:
        return {
            "before": {"status": status, "row_count": sequence * 7, "license": "cc-by-4.0"},
            "after": {"status": following, "row_count": sequence * 7 + 12, "license": "cc-by-4.0"},
        }
    if action == LedgerAction.CREATE:
        return {"after": {"status": "draft", "row_count": sequence * 3, "license": "apache-2.0", "owner_id": 17}}
    if action == LedgerAction.TRANSITION:
        return {"transition": "advance", "source": status, "target": following}
    if action == LedgerAction.SIGN:
        return {"meaning": "approved", "record_digest": hashlib.sha256(sequence.to_bytes(8)).hexdigest()}
    if action == LedgerAction.DENIED:
        return {"attempted": "approve", "reason": "Only the Legal reviewer may approve"}
    if action == LedgerAction.OVERRIDE:
        return {"justification": "Incident 4711: restore access for the audit", "expires_in_s": 3600}
    return {"format": "csv", "rows": sequence % 5_000, "fields": ["id", "status", "license"]}


def _entry(sequence: int, recorded_at: datetime.datetime) -> tuple[dict[str, Any], tuple]:
    """The canonical document of entry ``sequence`` and its columns up to ``request_id``."""
    action = str(ACTIONS[sequence % len(ACTIONS)])
    object_type, label = OBJECT_TYPES[sequence % len(OBJECT_TYPES)]
    number = sequence % 997 + 1
    object_id = str(number)
    object_label = label.format(n=number, v=sequence % 13 + 1)
    request_id = f"{(sequence // 4) * 2_654_435_761 % 2**128:032x}"  # a request writes a few entries
    document = entry_document(
        sequence=sequence,
        recorded_at=recorded_at,
        actor_id=None,
        actor_name=ACTOR_NAME,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        request_id=request_id,
        payload=_payload(action, sequence),
    )
    columns = (
        sequence,
        recorded_at,
        None,
        ACTOR_NAME,
        action,
        object_type,
        object_id,
        object_label,
        request_id,
    )
    return document, columns


def append_rate() -> float:
    def one(i: int) -> None:
        with transaction.atomic():
            append(
                action=LedgerAction.UPDATE,
                object_type="lineage.datasetversion",
                object_id=str(i),
                object_label=f"Dataset {i % 97} v{i}",
                payload={
                    "before": {"status": "draft", "row_count": i, "license": "cc-by-4.0"},
                    "after": {"status": "in_review", "row_count": i + 12, "license": "cc-by-4.0"},
                },
            )

    with audit_context.acting_as(actor_name=ACTOR_NAME):
        for i in range(WARMUP):
            one(i)
        started = time.perf_counter()
        for i in range(APPENDS):
            one(i)
        return APPENDS / (time.perf_counter() - started)


def load_rows(rows: Iterable[tuple]) -> None:
    """Insert ``rows`` (values in ``COLUMNS`` order) in one transaction, as they are produced."""
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    names = ", ".join(connection.ops.quote_name(name) for name in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's own cursor (under Django's wrapper) for COPY; bytes go to bytea, datetimes stay aware.
            # Rows stream to the server while the next ones are built, so its indexing overlaps our hashing.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value  # stored as the ORM stores it
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608 (names from the model)
                [(row[0], adapt(row[1]), *row[2:]) for row in rows],
            )


class ChainBuilder:
    """Builds ledger rows continuing the chain from a given tail, keeping a sample of the canonical bytes."""

    def __init__(self, prev_hash: bytes, recorded_at: datetime.datetime):
        self.prev_hash = prev_hash
        self.recorded_at = recorded_at
        self.sample_start_hash = self.sample_end_hash = prev_hash
        self.sample: list[bytes] = []

    def rows(self, first: int, stop: int) -> Iterator[tuple]:
        step = datetime.timedelta(milliseconds=40)
        for sequence in range(first, stop):
            self.recorded_at += step
            document, columns = _entry(sequence, self.recorded_at)
            canonical = canonical_bytes(document)
            prev_hash, entry_hash = self.prev_hash, chain_hash(self.prev_hash, canonical)
            self.prev_hash = entry_hash
            if len(self.sample) < SHA256_SAMPLE:
                self.sample.append(canonical)
                self.sample_end_hash = entry_hash
            yield (*columns, canonical, prev_hash, entry_hash)


def grow_ledger(total: int) -> ChainBuilder:
    """Extend the ledger to ``total`` entries, in transactions of ``BATCH`` rows."""
    tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", "entry_hash", "recorded_at").first()
    last_sequence, prev_hash, recorded_at = (
        (tail[0], bytes(tail[1]), tail[2]) if tail else (0, GENESIS_HASH, datetime.datetime.now(datetime.UTC))
    )
    if last_sequence > total:
        raise RuntimeError(f"the ledger already holds {last_sequence} entries, more than {total}")
    builder = ChainBuilder(prev_hash, recorded_at)
    for first in range(last_sequence + 1, total + 1, BATCH):
        load_rows(builder.rows(first, min(first + BATCH, total + 1)))
    if connection.vendor == "postgresql":
        # As a long-lived table is: vacuumed, hint bits set, statistics current; and no autovacuum of the
        # fresh rows competing with the timed verification.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(LedgerEntry._meta.db_table)}")
    return builder


def sha256_chain_rate(builder: ChainBuilder) -> float:
    """Entries per second of the bare ``sha256(prev + canonical)`` chain over the sample (best of 3)."""
    sha256 = hashlib.sha256
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        prev = builder.sample_start_hash
        for canonical in builder.sample:
            prev = sha256(prev + canonical).digest()
        best = min(best, time.perf_counter() - started)
        if prev != builder.sample_end_hash:
            raise RuntimeError("the SHA-256 chain over the sample does not end where the ledger's does")
    return len(builder.sample) / best


@contextmanager
def isolated_checkpoints() -> Iterator[None]:
    """A fresh signing key and an empty checkpoint directory, as the test settings have: the verification
    sees this database's ledger only, never a developer's key or checkpoint files of another database. The ledger
    is built without checkpoints, so how long its entries have waited for one is no finding here."""
    with tempfile.TemporaryDirectory(prefix="ledger-checkpoints-") as directory:
        storages = {
            **settings.STORAGES,
            "ledger_checkpoints": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": directory},
            },
        }
        signing_keys.private_key.cache_clear()
        try:
            with override_settings(
                LEDGER_SIGNING_KEY=signing_keys.generate_private_key_pem(),
                LEDGER_SIGNING_KEY_FILE="",
                LEDGER_CHECKPOINT_MAX_AGE_S=10 * 365 * 24 * 3600,
                STORAGES=storages,
            ):
                yield
        finally:
            signing_keys.private_key.cache_clear()


def timed_verify(total: int) -> float:
    """Entries verified per second; raises unless the whole ledger verified (a broken verifier's speed is
    worthless)."""
    started = time.perf_counter()
    report = verify_chain()
    elapsed = time.perf_counter() - started
    if not report.ok or report.entries_checked != total:
        raise RuntimeError(
            f"verify_chain: ok={report.ok}, {report.entries_checked} of {total} entries checked: {report.message}"
        )
    return report.entries_checked / elapsed


def run() -> Iterator[tuple[str, float, str]]:
    yield "ledger_append_per_s", append_rate(), "entries/s"

    total = VERIFY_ENTRIES if connection.vendor == "postgresql" else VERIFY_ENTRIES_SQLITE
    builder = grow_ledger(total)
    with isolated_checkpoints():
        verify_rate = timed_verify(total)
    yield "ledger_verify_entries", float(total), "entries"
    yield "ledger_verify_entries_per_s", verify_rate, "entries/s"

    sha_rate = sha256_chain_rate(builder)
    yield "ledger_sha256_chain_per_s", sha_rate, "entries/s"
    yield "ledger_verify_ratio_to_sha256", verify_rate / sha_rate, "ratio"
