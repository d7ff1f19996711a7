"""Verification of the whole ledger: every entry's hash and link, the columns against the hashed bytes,
and every checkpoint (database rows and the files outside the database) against the entries.

It streams the ledger in chunks (memory stays flat however long the ledger is) and stops at the first
broken entry, naming its sequence number and what is wrong: past a break, the chain proves nothing.

How the columns are checked against the hashed bytes
----------------------------------------------------
``canonical`` is the JCS serialisation of the entry's document, so its members come in sorted key order:
the columns that sort before ``payload`` (action ... object_type), the payload, then the ones after it
(recorded_at, request_id, sequence). On PostgreSQL the query renders, from each row's stored columns as it
reads them (never from a stored copy of them, and with schema-qualified ``pg_catalog`` functions and
operators only), the text of those members: ``head`` is ``{"action":"...",...,"payload":`` and ``tail``
is ``,"recorded_at":"...",...,"sequence":N}``, strings written between quotes as they are. An entry's
columns are confirmed when

* ``head`` and ``tail`` hold no backslash, no control character and no quote besides the ones around keys
  and strings: then no column holds a character JCS escapes, so they are exactly the JCS text of the
  columns' values (and JSON strings and numbers are self-delimiting: equal bytes mean equal values);
* ``canonical`` is ``head``, then one JSON value (the payload), then ``tail``, byte for byte. The payload
  must parse as a single value, so it cannot add or override a member: the document has exactly the
  members ``head`` and ``tail`` spell out.

That is two byte comparisons, two character counts and a parse of the payload per entry instead of a parse
of the whole document and nine Python values per row. An entry the rendering cannot confirm (a column
holding a quote, a backslash or a control character; or a tampered column) is set aside once its hash and
link are checked; its columns are then read again, as they are, and compared with its parsed document, as on
every other database: that comparison decides, and names the column that differs.
"""

import datetime
import functools
import hashlib
import json
import logging
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
import psycopg
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.string import ByteaBinaryLoader

from audit import heads, merkle, signing_keys, state_replay
from audit.canonical import to_jsonable
from audit.checkpoints import checkpoint_storage, parse_file
from audit.choices import LedgerAction
from audit.ledger import DOCUMENT_FIELDS
from audit.models.ledger import GENESIS_HASH, LedgerCheckpoint, LedgerEntry, LedgerTreeTile, LedgerVerification
from audit.readable import time_ago
from audit.tree import TILE_WIDTH, StoredTree, TileBuilder, TreeStorageBroken, first_leaf, tile_digest
from audit.verification_keys import ledger_public_keys

logger = logging.getLogger(__name__)

#: Rows per chunk: what PostgreSQL sends at a time, or what the ORM fetches at a time elsewhere.
CHUNK = 5_000


class LedgerBroken(Exception):
    def __init__(self, sequence: int, problem: str):
        super().__init__(f"entry #{sequence}: {problem}")
        self.sequence = sequence
        self.problem = problem


@dataclass
class CheckpointClaim:
    """What a checkpoint (row or file) says the ledger's first ``tree_size`` entries hash to, and when it said so.
    ``stored``: a copy in checkpoint storage, out of the database's reach."""

    tree_size: int
    root_hash: bytes
    source: str
    created_at: datetime.datetime
    stored: bool = False


@dataclass
class VerificationReport:
    """``entries_after_checkpoint`` and ``newest_checkpoint_*`` describe the ledger's tail that no checkpoint outside
    the database covers yet: the only part of it that could be rewritten without contradicting a stored copy."""

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_broken_sequence: int | None = None
    message: str = ""
    entries_after_checkpoint: int = 0
    newest_checkpoint_size: int | None = None
    newest_checkpoint_at: datetime.datetime | None = None
    since_last: bool = False
    base_tree_size: int | None = None
    verified_tree_size: int | None = None
    tiles_checked: int = 0


# --- The columns rendered as JCS by PostgreSQL -----------------------------------------------------------

_CONCAT = " OPERATOR(pg_catalog.||) "
_UTC_ISO_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""  # how ``to_jsonable`` writes an aware datetime
#: Every character JCS escapes in a string: control characters, backslash, quote. Deleting them from a rendering
#: removes exactly its own quotes when no value holds any of them.
_JCS_ESCAPED = bytes(range(0x20)) + b'\\"'


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _document_keys() -> tuple[list[str], list[str]]:
    """The document's keys before and after ``payload``, in JCS order (code point order for ASCII keys)."""
    keys = sorted((*DOCUMENT_FIELDS, "payload"))
    if not all(key.isascii() for key in keys):
        raise ValueError("ledger document keys must be ASCII for their JCS order to be their sorted order")
    position = keys.index("payload")
    return keys[:position], keys[position + 1 :]


@dataclass(frozen=True)
class _Rendering:
    sql: str
    quotes: int  # the quotes the rendering has when no value holds a character JCS escapes


def _render_members(keys: list[str], *, opening: str, closing: str) -> _Rendering:
    """SQL for ``opening`` + ``"key":value`` for each of ``keys`` (comma-separated) + ``closing``, computed
    from the row's own columns: strings between quotes as they are, numbers in decimal, null as ``null``,
    the time as ``to_jsonable`` writes it."""
    columns = {model_field.attname: model_field for model_field in LedgerEntry._meta.concrete_fields}
    pieces: list[tuple[bool, str]] = []  # (is SQL, text): adjacent literals are merged before being quoted
    separator = opening
    for key in keys:
        column = columns[key]
        target = column.target_field if column.is_relation else column
        name = connection.ops.quote_name(column.column)
        pieces.append((False, f'{separator}"{key}":'))
        separator = ","
        if isinstance(target, models.CharField | models.TextField) and not column.is_relation:
            pieces += [(False, '"'), (True, f"{name}::pg_catalog.text"), (False, '"')]
        elif isinstance(target, models.IntegerField):
            number = f"{name}::pg_catalog.text"
            pieces.append((True, f"COALESCE({number}, 'null')" if column.null else number))
        elif isinstance(target, models.DateTimeField) and not column.is_relation:
            stamp = f"pg_catalog.to_char(pg_catalog.timezone('UTC', {name}), {_UTC_ISO_FORMAT})"
            pieces += [(False, '"'), (True, stamp), (False, '"')]
        else:
            raise TypeError(f"no JCS rendering for the ledger column {key} ({type(column).__name__})")
    pieces.append((False, closing))
    merged: list[str] = []
    literal = ""
    for is_sql, text in pieces:
        if is_sql:
            if literal:
                merged.append(_sql_text(literal))
                literal = ""
            merged.append(text)
        else:
            literal += text
    if literal:
        merged.append(_sql_text(literal))
    quotes = sum(text.count('"') for is_sql, text in pieces if not is_sql)
    return _Rendering(_CONCAT.join(merged), quotes)


@functools.cache
def _renderings() -> tuple[_Rendering, _Rendering]:
    """How ``head`` and ``tail`` are rendered; see the module docstring."""
    before, after = _document_keys()
    return (
        _render_members(before, opening="{", closing=',"payload":'),
        _render_members(after, opening=",", closing="}"),
    )


def _rendered_query() -> str:
    """Rows as (sequence, prev_hash, entry_hash, canonical, head, tail)."""
    head, tail = _renderings()
    return (
        f"SELECT sequence, prev_hash, entry_hash, canonical, {head.sql}, {tail.sql}"  # noqa: S608 (from the model)
        f" FROM {connection.ops.quote_name(LedgerEntry._meta.db_table)}"
        " WHERE sequence BETWEEN %s AND %s ORDER BY sequence"
    )


@functools.cache
def _columns_query() -> str:
    """The entries whose sequence numbers are given, as (sequence, *columns) where the columns are the
    document's fields the table repeats (``DOCUMENT_FIELDS``) as the document has them."""
    columns = {model_field.attname: model_field for model_field in LedgerEntry._meta.concrete_fields}
    selected = []
    for name in DOCUMENT_FIELDS:
        quoted = connection.ops.quote_name(columns[name].column)
        if isinstance(columns[name], models.DateTimeField):
            quoted = f"pg_catalog.to_char(pg_catalog.timezone('UTC', {quoted}), {_UTC_ISO_FORMAT})"
        selected.append(quoted)
    return (
        f"SELECT sequence, {', '.join(selected)}"  # noqa: S608 (built from the model)
        f" FROM {connection.ops.quote_name(LedgerEntry._meta.db_table)}"
        " WHERE sequence OPERATOR(pg_catalog.=) ANY (%s)"
    )


@contextmanager
def _rendered_rows(first: int, last: int) -> Iterator[Iterator[tuple]]:
    """Entries ``first..last`` with their rendered ``head`` and ``tail``, in binary (bytea and the rendered
    text both arrive as bytes). The server streams the rows, computing the next ones while this process
    checks the current ones. Leaving before the end cancels the query, which is why it runs in a savepoint
    that is always rolled back (it only reads): the caller's transaction stays usable."""
    with transaction.atomic():
        connection.ensure_connection()
        try:
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.adapters.register_loader("text", ByteaBinaryLoader)
                if psycopg.capabilities.has_stream_chunked():
                    rows = cursor.stream(_rendered_query(), [first, last], binary=True, size=CHUNK)
                else:  # libpq before 17 cannot stream in chunks: a server-side cursor, a chunk at a time
                    rows = _fetched_in_chunks(_rendered_query(), [first, last])
                try:
                    yield rows
                finally:
                    rows.close()
        finally:
            transaction.set_rollback(True)


def _fetched_in_chunks(query: str, params: list) -> Iterator[tuple]:
    with connection.connection.cursor(name="ledger_verification", binary=True) as cursor:
        cursor.adapters.register_loader("text", ByteaBinaryLoader)
        cursor.execute(query, params)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


def _generic_rows(first: int, last: int) -> Iterator[tuple]:
    """Entries ``first..last`` through the ORM, as (sequence, prev_hash, entry_hash, canonical, *columns) where
    the columns are the document's fields the table repeats (``DOCUMENT_FIELDS``), as the document has them."""
    fields = ("sequence", "prev_hash", "entry_hash", "canonical", *DOCUMENT_FIELDS)
    rows = LedgerEntry.objects.filter(sequence__range=(first, last)).order_by("sequence").values_list(*fields)
    for row in rows.iterator(chunk_size=CHUNK):
        yield (row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]), row[4], to_jsonable(row[5]), *row[6:])


def _column_problem(columns: tuple, document: object) -> str:
    if not isinstance(document, dict):
        return "the hashed entry is not a JSON object"
    for name, value in zip(DOCUMENT_FIELDS, columns, strict=True):
        if document.get(name) != value:
            return f"column {name} ({value!r}) differs from the hashed entry ({document.get(name)!r})"
    return "columns differ from the hashed entry"


_document_columns = operator.itemgetter(*DOCUMENT_FIELDS)


def _compare_columns(sequence: int, canonical: bytes, columns: tuple) -> None:
    """The columns against the parsed hashed document, field by field."""
    try:
        document = orjson.loads(canonical)
    except orjson.JSONDecodeError:
        raise LedgerBroken(sequence, "the hashed entry is not valid JSON") from None
    try:
        agrees = _document_columns(document) == columns
    except (KeyError, TypeError):
        agrees = False
    if not agrees:
        raise LedgerBroken(sequence, _column_problem(columns, document))


# --- The chain -------------------------------------------------------------------------------------------


def _checkpoint_claims(report: VerificationReport, *, from_size: int = 0) -> list[CheckpointClaim]:
    """Signed checkpoints of at least ``from_size`` entries, from the database and from checkpoint storage; a bad
    signature is a finding."""
    claims: list[CheckpointClaim] = []
    keys: dict[str, bytes] | None = None  # asked for only if there is a checkpoint to check
    for checkpoint in LedgerCheckpoint.objects.filter(tree_size__gte=from_size).order_by("tree_size"):
        keys = keys if keys is not None else ledger_public_keys()
        statement = json.loads(bytes(checkpoint.statement))
        public = keys.get(str(statement.get("key_id")), b"")
        if not signing_keys.verify(bytes(checkpoint.statement), bytes(checkpoint.signature), public) or (
            statement.get("tree_size") != checkpoint.tree_size or statement.get("root_hash") != checkpoint.root_hash_hex
        ):
            raise LedgerBroken(checkpoint.tree_size, "the database checkpoint's signature or statement is invalid")
        claims.append(
            CheckpointClaim(
                checkpoint.tree_size, bytes(checkpoint.root_hash), "database checkpoint", checkpoint.created_at
            )
        )
    storage = checkpoint_storage()
    try:
        _dirs, files = storage.listdir("")
    except FileNotFoundError:
        files = []
    for name in sorted(files):
        if not name.endswith(".json") or _size_in_file_name(name) < from_size:
            continue
        keys = keys if keys is not None else ledger_public_keys()
        with storage.open(name, "rb") as handle:
            try:
                parsed = parse_file(handle.read())
            except (ValueError, KeyError, TypeError) as error:
                raise LedgerBroken(0, f"checkpoint file {name} is unreadable: {error}") from None
        # Checked with the published key the statement names, never with the key the file carries.
        public = keys.get(str(parsed["statement"].get("key_id")), b"")
        if not signing_keys.verify(parsed["statement_bytes"], parsed["signature"], public):
            raise LedgerBroken(parsed["tree_size"], f"checkpoint file {name} has an invalid signature")
        if parsed["tree_size"] < from_size:
            continue
        claims.append(
            CheckpointClaim(
                parsed["tree_size"], parsed["root_hash"], f"checkpoint file {name}", parsed["created_at"], stored=True
            )
        )
    report.checkpoints_checked = len(claims)
    return sorted(claims, key=lambda claim: claim.tree_size)


def _size_in_file_name(name: str) -> int:
    """The tree size a checkpoint file is named after (``file_name_for``); 0 for another name, which is then read."""
    digits = name.removeprefix("checkpoint-").removesuffix(".json")
    return int(digits) if digits.isdigit() else 0


def verify_chain() -> VerificationReport:
    """Everything from the first entry: the daily run."""
    report = VerificationReport(ok=True, entries_checked=0, checkpoints_checked=0)
    try:
        claims = _checkpoint_claims(report)
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        waiting = _uncovered_tail(report, claims, tail)
        result = _verify_range(1, tail, GENESIS_HASH, {claim.tree_size for claim in claims}, TileBuilder())
        _judge(report, result, claims, tail, waiting)
        report.tiles_checked = _check_stored_tiles(result)
        _check_object_heads(claims)
        report.verified_tree_size = max(result.roots, default=None)
    except LedgerBroken as broken:
        report.ok = False
        report.first_broken_sequence = broken.sequence
        report.message = str(broken)
    return report


def _check_object_heads(claims: list[CheckpointClaim]) -> None:
    """The object heads root the newest database checkpoint signed (``audit.heads``) against the map rebuilt from the
    entries it covers: one GROUP BY over them. A checkpoint made before the map states none, and is not checked."""
    newest = max((claim.tree_size for claim in claims if not claim.stored), default=None)
    checkpoint = LedgerCheckpoint.objects.filter(tree_size=newest).first() if newest is not None else None
    signed = heads.statement_root(checkpoint) if checkpoint is not None else None
    if signed is not None and heads.root_from_entries(checkpoint.tree_size) != signed:
        raise LedgerBroken(
            checkpoint.tree_size,
            f"the object heads checkpoint {checkpoint.tree_size} signed (each object's count of entries and newest "
            "entry) are not those its entries give",
        )


def verify_since_last() -> VerificationReport:
    """Only what followed the newest checkpoint a passing run verified: the frequent run, whose cost follows the new
    entries, not the ledger. Falls back to ``verify_chain`` when no run has verified a checkpoint yet, or when the
    newest run failed (only a full run clears a failure).

    The verified checkpoint's tree is rebuilt from the stored tiles at its right edge (at most 255 hashes a level),
    which must hash to its signed root: that binds them, and so the new entries are added to a tree known to be the
    one verified. Then the new entries are checked as in the full run, every later checkpoint's root is recomputed
    and compared, the stored tree's consistency proof from the verified checkpoint to the newest must verify, and
    the tiles filled since are held against the ones recomputed."""
    newest_run = LedgerVerification.objects.order_by("-started_at", "-id").first()
    if newest_run is None or not newest_run.ok or newest_run.verified_tree_size is None:
        return verify_chain()
    base = newest_run.verified_tree_size
    report = VerificationReport(ok=True, entries_checked=0, checkpoints_checked=0, since_last=True, base_tree_size=base)
    try:
        claims = _checkpoint_claims(report, from_size=base)
        base_claim = next((claim for claim in claims if claim.tree_size == base and not claim.stored), None)
        if base_claim is None:
            raise LedgerBroken(
                base, f"the database checkpoint of {base} entries that the last verification reached is gone"
            )
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        waiting = _uncovered_tail(report, claims, tail)
        builder, prev_hash = _resume_at(base, base_claim.root_hash)
        result = _verify_range(base + 1, tail, prev_hash, {claim.tree_size for claim in claims}, builder)
        _judge(report, result, claims, tail, waiting)
        _check_consistency_from(base, base_claim.root_hash, claims)
        report.tiles_checked = _check_stored_tiles(result)
        report.verified_tree_size = max(result.roots, default=base)
    except (LedgerBroken, TreeStorageBroken) as broken:
        report.ok = False
        report.first_broken_sequence = getattr(broken, "sequence", base)
        report.message = str(broken)
    return report


def _resume_at(base: int, root: bytes) -> tuple[TileBuilder, bytes]:
    """The tree builder as it stood at the verified checkpoint of ``base`` entries, read from storage and bound to the
    checkpoint's root, and the hash entry ``base + 1`` must link to (the last entry's, itself bound as the tree's
    last leaf)."""
    stored = StoredTree(base)
    try:
        builder = TileBuilder.resume(base, stored.edge_rows())
        if builder.root() != root:
            raise LedgerBroken(base, f"the stored tree does not hash to the verified checkpoint of {base} entries")
        last = LedgerEntry.objects.filter(sequence=base).values_list("entry_hash", flat=True).first()
        if last is None:
            raise LedgerBroken(base, "missing: the last entry of the verified checkpoint is gone")
        # The last leaf as the tree just bound to the root holds it: in level 0's unfinished row, or in a full tile
        # whose stored root that binding covered.
        bound_leaf = builder.rows[0][-1] if base % TILE_WIDTH else stored.node(0, base - 1)
        if merkle.leaf_hash(bytes(last)) != bound_leaf:
            raise LedgerBroken(base, "entry_hash differs from the leaf the verified checkpoint holds (edited)")
    except TreeStorageBroken as broken:
        raise LedgerBroken(base, f"the stored tree cannot rebuild the verified checkpoint: {broken}") from None
    return builder, bytes(last)


def _check_consistency_from(base: int, base_root: bytes, claims: list[CheckpointClaim]) -> None:
    """The stored tree's RFC 9162 consistency proof from the verified checkpoint to the newest database checkpoint."""
    newest = max((claim for claim in claims if not claim.stored), key=lambda claim: claim.tree_size)
    if newest.tree_size == base:
        return
    try:
        proof = StoredTree(newest.tree_size).consistency_proof(base)
    except TreeStorageBroken as broken:
        raise LedgerBroken(newest.tree_size, f"the stored tree cannot prove the newest checkpoint: {broken}") from None
    if not merkle.verify_consistency(
        old_size=base, new_size=newest.tree_size, old_root=base_root, new_root=newest.root_hash, proof=proof
    ):
        raise LedgerBroken(
            newest.tree_size,
            f"the stored tree does not prove that the checkpoint of {newest.tree_size} entries extends the verified "
            f"one of {base}",
        )


def _check_stored_tiles(result: "RangeResult") -> int:
    """Hold every stored tile that the pass recomputed against its recomputation; returns how many were compared.

    Stored tiles past what the pass built (a checkpoint made during the run stores them) are left for the next run;
    tiles not stored yet are not a finding: the checkpoint run stores them, and proofs cannot be made without them.
    """
    recomputed = result.tiles
    if not recomputed:
        return 0
    first_level = {}
    for level, index in recomputed:
        first_level[level] = min(first_level.get(level, index), index)
    compared = 0
    for level, first in sorted(first_level.items()):
        rows = LedgerTreeTile.objects.filter(level=level, index__gte=first).order_by("index")
        for index, hashes, root in rows.values_list("index", "hashes", "root").iterator(chunk_size=500):
            digest = recomputed.get((level, index))
            if digest is None:
                break  # past what this pass built
            compared += 1
            if tile_digest(bytes(hashes), bytes(root)) != digest:
                first = first_leaf(level, index)
                last = first_leaf(level, index + 1)
                raise LedgerBroken(
                    first + 1,
                    f"the stored tree tile {level}/{index} (over entries #{first + 1} to #{last}) does not match "
                    "what the entries hash to (altered)",
                )
    return compared


@dataclass
class RangeResult:
    """What one pass over entries ``first..last`` found. ``roots`` maps a checkpoint's tree size to the Merkle
    root of the entries up to that size; ``broken`` is the first broken entry and what is wrong with it."""

    first: int
    last: int
    checked: int = 0
    roots: dict[int, bytes] = field(default_factory=dict)
    broken: tuple[int, str] | None = None
    #: ``(level, index) -> tile_digest`` of every tile the pass filled, to hold the stored ones against.
    tiles: dict[tuple[int, int], bytes] = field(default_factory=dict)


@dataclass
class _Chain:
    """Where a pass has got to: the next sequence number and the hash it must link to, and the Merkle tree
    of the entry hashes so far, built up to the last checkpoint that needs a root."""

    next_sequence: int
    prev_hash: bytes
    wanted: set[int]
    roots: dict[int, bytes]
    builder: TileBuilder

    @property
    def last_wanted(self) -> int:
        return max(self.wanted, default=0)


def _verify_range(
    first: int, last: int, expected_prev: bytes, root_sizes: set[int], builder: TileBuilder
) -> RangeResult:
    """Check entries ``first..last``; ``expected_prev`` is the hash entry ``first`` must link to, and ``builder`` the
    tree of the entries before it, which the pass extends (recording each tile it fills) to the last checkpoint in
    ``root_sizes``. Measured by ``make bench`` as ``ledger_verify_entries_per_s``."""
    result = RangeResult(first=first, last=last)

    def remember(level: int, index: int, hashes: bytes, root: bytes) -> None:
        result.tiles[(level, index)] = tile_digest(hashes, root)

    builder.on_tile = remember
    chain = _Chain(
        next_sequence=first,
        prev_hash=expected_prev,
        wanted={size for size in root_sizes if first <= size <= last},
        roots=result.roots,
        builder=builder,
    )
    try:
        if connection.vendor == "postgresql":
            _check_postgresql(chain, last)
        else:
            _check_parsed(_generic_rows(first, last), chain)
        if chain.next_sequence <= last:
            raise LedgerBroken(chain.next_sequence, "missing: the ledger ends before its last entry")
    except LedgerBroken as broken:
        result.broken = (broken.sequence, broken.problem)
        result.checked = broken.sequence - first  # a set-aside entry can break the chain behind where it got
    else:
        result.checked = chain.next_sequence - first
    return result


#: Entries set aside (see the module docstring) before they are checked and the stream starts again after them.
SET_ASIDE = 20_000


def _check_postgresql(chain: _Chain, last: int) -> None:
    """Stream and check entries up to ``last``. Entries set aside are checked whenever ``SET_ASIDE`` of them
    have gathered and at the end; they come before anything found after them."""
    while chain.next_sequence <= last:
        set_aside: list[tuple[int, bytes]] = []
        try:
            with _rendered_rows(chain.next_sequence, last) as rows:
                interrupted = _check_rendered(rows, chain, set_aside)
        except LedgerBroken:
            _check_set_aside(set_aside)
            raise
        _check_set_aside(set_aside)
        if not interrupted:
            return


def _check_set_aside(entries: list[tuple[int, bytes]]) -> None:
    """``(sequence, canonical)`` of entries whose hash and link hold but whose columns the rendering did not
    confirm: their columns, read as the document has them, against the parsed documents, in sequence order."""
    if not entries:
        return
    with connection.cursor() as cursor:
        cursor.execute(_columns_query(), [[sequence for sequence, _canonical in entries]])
        columns = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    for sequence, canonical in entries:
        if sequence not in columns:
            raise LedgerBroken(sequence, "missing: the entry disappeared while it was being verified")
        _compare_columns(sequence, canonical, columns[sequence])


def _check_rendered(rows: Iterator[tuple], chain: _Chain, set_aside: list[tuple[int, bytes]]) -> bool:
    """The hot loop on PostgreSQL, written for speed (local names, no per-entry function of ours). Returns
    whether it stopped before the end of ``rows`` because ``SET_ASIDE`` entries were waiting."""
    sha256 = hashlib.sha256
    loads = orjson.loads
    escaped = _JCS_ESCAPED
    head_quotes, tail_quotes = (rendering.quotes for rendering in _renderings())
    expected_sequence, expected_prev = chain.next_sequence, chain.prev_hash
    builder, wanted, roots, last_wanted = chain.builder, chain.wanted, chain.roots, chain.last_wanted
    try:
        for sequence, prev_hash, entry_hash, canonical, head, tail in rows:
            if sequence != expected_sequence:
                raise LedgerBroken(expected_sequence, f"missing: the next entry found is #{sequence}")
            if prev_hash != expected_prev:
                raise LedgerBroken(sequence, "prev_hash does not link to the previous entry's hash")
            if sha256(prev_hash + canonical).digest() != entry_hash:
                raise LedgerBroken(sequence, "entry_hash does not match the entry's contents (edited)")
            try:
                confirmed = (
                    canonical.startswith(head)
                    and canonical.endswith(tail)
                    and len(head) - len(head.translate(None, escaped)) == head_quotes
                    and len(tail) - len(tail.translate(None, escaped)) == tail_quotes
                )
                if confirmed:
                    loads(canonical[len(head) : -len(tail)])  # exactly one JSON value, or it raises
            except (TypeError, ValueError):  # a NULL column (nothing rendered), or not one value in between
                confirmed = False
            if not confirmed:
                if len(set_aside) >= SET_ASIDE:
                    return True  # this entry is read again, after the ones set aside are checked
                set_aside.append((sequence, canonical))
            if sequence <= last_wanted:  # past the last checkpoint the tree no longer needs building
                builder.append(entry_hash)
                if sequence in wanted:
                    roots[sequence] = builder.root()
            expected_prev = entry_hash
            expected_sequence += 1
    finally:
        chain.next_sequence, chain.prev_hash = expected_sequence, expected_prev
    return False


def _check_parsed(rows: Iterator[tuple], chain: _Chain) -> None:
    """The hot loop elsewhere: each document parsed and its fields compared with the columns."""
    sha256 = hashlib.sha256
    loads = orjson.loads
    document_columns = _document_columns
    expected_sequence, expected_prev = chain.next_sequence, chain.prev_hash
    builder, wanted, roots, last_wanted = chain.builder, chain.wanted, chain.roots, chain.last_wanted
    try:
        for row in rows:
            sequence, prev_hash, entry_hash, canonical = row[0], row[1], row[2], row[3]
            if sequence != expected_sequence:
                raise LedgerBroken(expected_sequence, f"missing: the next entry found is #{sequence}")
            if prev_hash != expected_prev:
                raise LedgerBroken(sequence, "prev_hash does not link to the previous entry's hash")
            if sha256(prev_hash + canonical).digest() != entry_hash:
                raise LedgerBroken(sequence, "entry_hash does not match the entry's contents (edited)")
            try:
                agrees = document_columns(loads(canonical)) == row[4:]
            except (KeyError, TypeError, ValueError):
                agrees = False
            if not agrees:
                _compare_columns(sequence, canonical, row[4:])  # names what differs
            if sequence <= last_wanted:
                builder.append(entry_hash)
                if sequence in wanted:
                    roots[sequence] = builder.root()
            expected_prev = entry_hash
            expected_sequence += 1
    finally:
        chain.next_sequence, chain.prev_hash = expected_sequence, expected_prev


def _uncovered_tail(report: VerificationReport, claims: list[CheckpointClaim], tail: int) -> tuple[int, str] | None:
    """Measure the tail no stored checkpoint covers (into ``report``). A finding if an entry in it has waited for a
    checkpoint longer than ``LEDGER_CHECKPOINT_MAX_AGE_S``: checkpoints have stopped, or cannot be stored, and
    whoever controls the database could rewrite that tail unseen. The checkpoints' own entries do not wait."""
    newest = max((claim for claim in claims if claim.stored), key=lambda claim: claim.tree_size, default=None)
    covered = newest.tree_size if newest else 0
    report.entries_after_checkpoint = max(tail - covered, 0)
    report.newest_checkpoint_size = newest.tree_size if newest else None
    report.newest_checkpoint_at = newest.created_at if newest else None
    first = (
        LedgerEntry.objects.filter(sequence__gt=covered)
        .exclude(action=LedgerAction.CHECKPOINT)
        .order_by("sequence")
        .values_list("sequence", "recorded_at")
        .first()
    )
    if first is None:
        return None
    sequence, recorded_at = first
    now = timezone.now()
    allowed = datetime.timedelta(seconds=settings.LEDGER_CHECKPOINT_MAX_AGE_S)
    if now - recorded_at <= allowed:
        return None
    exposed = (
        f"the newest covers {newest.tree_size} entries and was made {time_ago(newest.created_at, now)}, so the "
        f"{report.entries_after_checkpoint} entries after it"
        if newest
        else f"there is none, so all {report.entries_after_checkpoint} entries"
    )
    return (
        sequence,
        f"recorded {time_ago(recorded_at, now)} and not yet covered by a checkpoint outside the database "
        f"(allowed: {settings.LEDGER_CHECKPOINT_MAX_AGE_S} s); {exposed} could be rewritten unseen: checkpoints "
        "have stopped, or cannot be stored",
    )


def _judge(
    report: VerificationReport,
    result: RangeResult,
    claims: list[CheckpointClaim],
    tail: int,
    waiting: tuple[int, str] | None,
) -> None:
    """The first problem by sequence number, whether an entry's, a checkpoint's or the uncovered tail's."""
    report.entries_checked = result.checked
    findings = [finding for finding in (result.broken, waiting) if finding is not None]
    roots = result.roots
    in_database = {claim.tree_size: claim for claim in claims if not claim.stored}
    for claim in claims:
        if claim.stored and claim.tree_size not in in_database:
            findings.append(
                (
                    claim.tree_size + 1,
                    f"the {claim.source} (of {claim.tree_size} entries) is missing from the database's checkpoints "
                    "(a deleted checkpoint)",
                )
            )
        elif claim.stored and in_database[claim.tree_size].root_hash != claim.root_hash:
            findings.append(
                (claim.tree_size, f"the {claim.source} and the database checkpoint of {claim.tree_size} entries differ")
            )
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


def ledger_verify_and_record(*, state: bool = False, since_last: bool = False) -> LedgerVerification:
    """Run the verification and keep its outcome; a failure is logged as an error for alerting. With ``state``
    the ledger is also replayed over the governed rows (``audit.state_replay``) and what differs is kept with
    the run; with ``since_last`` only what followed the last verified checkpoint is checked (``verify_since_last``)."""
    started_at = timezone.now()
    report = verify_since_last() if since_last else verify_chain()
    if not report.ok:
        logger.error("Audit ledger verification FAILED at entry #%s: %s", report.first_broken_sequence, report.message)
    # A plain row, not a ledger entry: recording the run must not depend on the ledger being sound.
    replayed = state_replay.ledger_state_replay() if state else None
    with transaction.atomic():
        run = LedgerVerification.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            ok=report.ok,
            entries_checked=report.entries_checked,
            checkpoints_checked=report.checkpoints_checked,
            first_broken_sequence=report.first_broken_sequence,
            message=report.message,
            entries_after_checkpoint=report.entries_after_checkpoint,
            newest_checkpoint_size=report.newest_checkpoint_size,
            newest_checkpoint_at=report.newest_checkpoint_at,
            since_last=report.since_last,
            base_tree_size=report.base_tree_size,
            verified_tree_size=report.verified_tree_size if report.ok else None,
            tiles_checked=report.tiles_checked,
            **(replayed.counts() if replayed is not None else {}),
        )
        if replayed is not None:
            replayed.record(run)
    return run
