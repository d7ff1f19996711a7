"""Verification of the whole ledger: every entry's hash and link, the columns against the hashed bytes,
and every checkpoint (database rows and the files outside the database) against the entries.

It streams the ledger in chunks (memory stays flat however long the ledger is) and stops at the first
broken entry, naming its sequence number and what is wrong: past a break, the chain proves nothing.
"""

import contextlib
import hashlib
import json
import logging
import operator
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
from django.db import connection, transaction
from django.utils import timezone

from governance import merkle, signing_keys
from governance.canonical import to_jsonable
from governance.checkpoints import checkpoint_storage, parse_file
from governance.ledger import DOCUMENT_FIELDS
from governance.models.ledger import GENESIS_HASH, LedgerCheckpoint, LedgerEntry, LedgerVerification

logger = logging.getLogger(__name__)

#: Rows are read as (sequence, prev_hash, entry_hash, canonical, *columns), where the columns are, in order,
#: the fields of the hashed document that the table repeats for filtering (``DOCUMENT_FIELDS``).
CHUNK = 20_000

_PG_QUERY = """
    SELECT sequence, prev_hash, entry_hash, canonical,
           sequence,
           to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           actor_id, actor_name, action, object_type, object_id, object_label, request_id
      FROM governance_ledgerentry
     WHERE sequence BETWEEN %s AND %s
  ORDER BY sequence
"""


class LedgerBroken(Exception):
    def __init__(self, sequence: int, problem: str):
        super().__init__(f"entry #{sequence}: {problem}")
        self.sequence = sequence
        self.problem = problem


@dataclass
class CheckpointClaim:
    """What a checkpoint (row or file) says the ledger's first ``tree_size`` entries hash to."""

    tree_size: int
    root_hash: bytes
    source: str


@dataclass
class VerificationReport:
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_broken_sequence: int | None = None
    message: str = ""


def _postgresql_rows(first: int, last: int) -> Iterator[tuple]:
    """A server-side cursor in binary format: bytea arrives as bytes and the time as the document's own ISO
    text (formatted by PostgreSQL), so no value is converted in Python. A reader thread fetches the next chunk
    while this thread checks the current one (fetching waits on the network and decodes in C)."""
    chunks: queue.Queue[list[tuple] | BaseException | None] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def read(cursor: object) -> None:
        try:
            while not stop.is_set() and (rows := cursor.fetchmany(CHUNK)):
                chunks.put(rows)
            chunks.put(None)
        except BaseException as error:  # handed to the checking thread, which re-raises it
            chunks.put(error)

    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name="ledger_verification", binary=True) as cursor:
            cursor.execute(_PG_QUERY, [first, last])
            reader = threading.Thread(target=read, args=(cursor,), name="ledger-verification-reader", daemon=True)
            reader.start()
            try:
                while (rows := chunks.get()) is not None:
                    if isinstance(rows, BaseException):
                        raise rows
                    yield from rows
            finally:
                stop.set()
                while reader.is_alive():  # stopped early (a break found): drain so the reader can finish
                    with contextlib.suppress(queue.Empty):
                        chunks.get(timeout=0.1)
                reader.join()


def _generic_rows(first: int, last: int) -> Iterator[tuple]:
    fields = ("sequence", "prev_hash", "entry_hash", "canonical", *DOCUMENT_FIELDS)
    rows = LedgerEntry.objects.filter(sequence__range=(first, last)).order_by("sequence").values_list(*fields)
    for row in rows.iterator(chunk_size=CHUNK):
        yield (row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]), row[4], to_jsonable(row[5]), *row[6:])


def _rows(first: int, last: int) -> Iterator[tuple]:
    return _postgresql_rows(first, last) if connection.vendor == "postgresql" else _generic_rows(first, last)


def _column_problem(columns: tuple, document: dict) -> str:
    for name, value in zip(DOCUMENT_FIELDS, columns, strict=True):
        if document.get(name) != value:
            return f"column {name} ({value!r}) differs from the hashed entry ({document.get(name)!r})"
    return "columns differ from the hashed entry"


def _checkpoint_claims(report: VerificationReport) -> list[CheckpointClaim]:
    """Signed checkpoints from the database and from checkpoint storage; a bad signature is a finding."""
    claims: list[CheckpointClaim] = []
    public: bytes | None = None  # asked for only if there is a checkpoint to check
    for checkpoint in LedgerCheckpoint.objects.order_by("tree_size"):
        public = public or signing_keys.public_key_bytes()
        statement = json.loads(bytes(checkpoint.statement))
        if not signing_keys.verify(bytes(checkpoint.statement), bytes(checkpoint.signature), public) or (
            statement.get("tree_size") != checkpoint.tree_size or statement.get("root_hash") != checkpoint.root_hash_hex
        ):
            raise LedgerBroken(checkpoint.tree_size, "the database checkpoint's signature or statement is invalid")
        claims.append(CheckpointClaim(checkpoint.tree_size, bytes(checkpoint.root_hash), "database checkpoint"))
    storage = checkpoint_storage()
    try:
        _dirs, files = storage.listdir("")
    except FileNotFoundError:
        files = []
    for name in sorted(files):
        if not name.endswith(".json"):
            continue
        public = public or signing_keys.public_key_bytes()
        with storage.open(name, "rb") as handle:
            try:
                parsed = parse_file(handle.read())
            except (ValueError, KeyError, TypeError) as error:
                raise LedgerBroken(0, f"checkpoint file {name} is unreadable: {error}") from None
        if not signing_keys.verify(parsed["statement_bytes"], parsed["signature"], public):
            raise LedgerBroken(parsed["tree_size"], f"checkpoint file {name} has an invalid signature")
        claims.append(CheckpointClaim(parsed["tree_size"], parsed["root_hash"], f"checkpoint file {name}"))
    report.checkpoints_checked = len(claims)
    return sorted(claims, key=lambda claim: claim.tree_size)


def verify_chain() -> VerificationReport:
    report = VerificationReport(ok=True, entries_checked=0, checkpoints_checked=0)
    try:
        claims = _checkpoint_claims(report)
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        result = _verify_range(1, tail, GENESIS_HASH, {claim.tree_size for claim in claims})
        _judge(report, result, claims, tail)
    except LedgerBroken as broken:
        report.ok = False
        report.first_broken_sequence = broken.sequence
        report.message = str(broken)
    return report


@dataclass
class RangeResult:
    """What one pass over entries ``first..last`` found. ``roots`` maps a checkpoint's tree size to the Merkle
    root of the entries up to that size; ``broken`` is the first broken entry and what is wrong with it."""

    first: int
    last: int
    checked: int = 0
    roots: dict[int, bytes] = field(default_factory=dict)
    broken: tuple[int, str] | None = None


def _verify_range(first: int, last: int, expected_prev: bytes, root_sizes: set[int]) -> RangeResult:
    """The hot loop: written for speed (local names, one tuple comparison per entry), measured by
    ``make bench`` as ``ledger_verify_entries_per_s``. ``expected_prev`` is the hash entry ``first`` must
    link to."""
    sha256 = hashlib.sha256
    loads = orjson.loads
    document_columns = operator.itemgetter(*DOCUMENT_FIELDS)
    result = RangeResult(first=first, last=last)
    expected_sequence = first
    frontier = merkle.Frontier()
    wanted = {size for size in root_sizes if first <= size <= last}
    last_wanted = max(wanted, default=0)
    try:
        for row in _rows(first, last):
            sequence, prev_hash, entry_hash, canonical = row[0], row[1], row[2], row[3]
            if sequence != expected_sequence:
                raise LedgerBroken(expected_sequence, f"missing: the next entry found is #{sequence}")
            if prev_hash != expected_prev:
                raise LedgerBroken(sequence, "prev_hash does not link to the previous entry's hash")
            if sha256(prev_hash + canonical).digest() != entry_hash:
                raise LedgerBroken(sequence, "entry_hash does not match the entry's contents (edited)")
            document = loads(canonical)
            columns = row[4:]
            try:
                agrees = document_columns(document) == columns
            except (KeyError, TypeError):
                agrees = False
            if not agrees:
                raise LedgerBroken(sequence, _column_problem(columns, document))
            if sequence <= last_wanted:  # past the last checkpoint the tree no longer needs building
                frontier.append(entry_hash)
                if sequence in wanted:
                    result.roots[sequence] = frontier.root()
            expected_prev = entry_hash
            expected_sequence += 1
        if expected_sequence <= last:
            raise LedgerBroken(expected_sequence, "missing: the ledger ends before its last entry")
    except LedgerBroken as broken:
        result.broken = (broken.sequence, broken.problem)
    result.checked = expected_sequence - first
    return result


def _judge(report: VerificationReport, result: RangeResult, claims: list[CheckpointClaim], tail: int) -> None:
    """The first problem by sequence number, whether an entry's or a checkpoint's."""
    report.entries_checked = result.checked
    findings = [result.broken] if result.broken is not None else []
    roots = result.roots
    for claim in claims:
        if claim.tree_size > tail:
            findings.append(
                (
                    tail + 1,
                    f"missing: the {claim.source} covers {claim.tree_size} entries but the ledger ends at "
                    f"#{tail} (a deleted tail)",
                )
            )
        elif claim.tree_size in roots and roots[claim.tree_size] != claim.root_hash:
            findings.append((claim.tree_size, f"the first {claim.tree_size} entries do not match the {claim.source}"))
    if findings:
        sequence, problem = min(findings, key=lambda finding: finding[0])
        raise LedgerBroken(sequence, problem)


def ledger_verify_and_record() -> LedgerVerification:
    """Run the verification and keep its outcome; a failure is logged as an error for alerting."""
    started_at = timezone.now()
    report = verify_chain()
    if not report.ok:
        logger.error("Audit ledger verification FAILED at entry #%s: %s", report.first_broken_sequence, report.message)
    # A plain row, not a ledger entry: recording the run must not depend on the ledger being sound.
    return LedgerVerification.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        first_broken_sequence=report.first_broken_sequence,
        message=report.message,
    )
