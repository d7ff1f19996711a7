"""Inference records as the intake writes them: plain rows, not model instances, and one ``COPY`` per batch.

A request of a thousand spans is a thousand records. Building a model instance for each, and having the ORM turn
it back into SQL parameters, cost more than everything else the intake does, so a record is made once, as a
``RecordRow``: its leaf document (``inference.proofs``: the column values as JSON, keyed by column), which serves
the Merkle leaf and, for the few records a version-mismatch incident cites, a model instance; and the same values as
the database takes them (bytes, times, lists as tuples), in ``COPY_COLUMNS`` order, made from the same digests and times
rather than parsed back from the leaf's hex and text.

On PostgreSQL the rows go in with a binary ``COPY ... FROM STDIN`` on the service's own connection, inside its
transaction: the batch row, the records and the ledger entry still commit or roll back together. The rows are
streamed as they are made, so the server is already checking and indexing the first ones (on another core) while
the rest are being read and hashed; the ids come from the column's default. SQLite gets one ``executemany``.
"""

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import orjson
from django.db import connection
from psycopg import postgres, pq
from psycopg.abc import AdaptContext
from psycopg.adapt import Dumper
from psycopg.types.string import BytesBinaryDumper

from inference import keys
from inference.models import InferenceRecord
from inference.otlp import SpanFacts
from inference.partitions import TABLE, partitioned
from inference.proofs import iso_time, row_leaf_data

#: The columns a record's ``COPY`` writes, in the order ``record_row`` gives their values (the batch's id first).
COPY_COLUMNS = (
    "batch_id",
    "position",
    "use_case_id",
    "environment",
    "model_version_id",
    "named_version_id",
    "version_mismatch",
    "trace_id",
    "span_id",
    "response_id",
    "conversation_id",
    "operation",
    "request_model",
    "response_model",
    "started_at",
    "ended_at",
    "input_tokens",
    "output_tokens",
    "finish_reasons",
    "prompt_category",
    "policy_checks",
    "response_classification",
    "end_user_pseudonym",
    "prompt_hmac",
    "answer_hmac",
    "hmac_key_id",
    "prompt_excerpt",
    "answer_excerpt",
)


class RecordRow(NamedTuple):
    """One span's record: its leaf document (JSON values keyed by column, no id nor batch) and its ``COPY`` values
    after the batch's id (``COPY_COLUMNS[1:]``)."""

    leaf: dict[str, Any]
    values: tuple[Any, ...]


def _hex(value: bytes | None) -> str:
    return value.hex() if value is not None else ""


def record_row(
    facts: SpanFacts,
    *,
    position: int,
    use_case_id: int,
    live_version_id: int | None,
    named_version_id: int | None,
    digest: Callable[[str], bytes],
    pseudonym: Callable[[str], bytes],
    key_id: str,
    excerpt: Callable[[str | None], str],
) -> RecordRow:
    """The record of one span, as its leaf and as its ``COPY`` values (no id nor batch yet)."""
    prompt, answer = facts.prompt, facts.answer
    mismatch = named_version_id is not None and named_version_id != live_version_id
    end_user = pseudonym(facts.end_user) if facts.end_user else None
    prompt_hmac = digest(prompt) if prompt is not None else None
    answer_hmac = digest(answer) if answer is not None else None
    hashed_with = key_id if prompt is not None or answer is not None else ""
    started_at, ended_at = facts.started_at, facts.ended_at
    leaf = {
        "position": position,
        "use_case_id": use_case_id,
        "environment": facts.environment,
        "model_version_id": live_version_id,
        "named_version_id": named_version_id,
        "version_mismatch": mismatch,
        "trace_id": facts.trace_id,
        "span_id": facts.span_id,
        "response_id": facts.response_id,
        "conversation_id": facts.conversation_id,
        "operation": facts.operation,
        "request_model": facts.request_model,
        "response_model": facts.response_model,
        "started_at": iso_time(started_at),
        "ended_at": iso_time(ended_at) if ended_at is not None else None,
        "input_tokens": facts.input_tokens,
        "output_tokens": facts.output_tokens,
        "finish_reasons": facts.finish_reasons,
        "prompt_category": facts.prompt_category,
        "policy_checks": facts.policy_checks,
        "response_classification": facts.response_classification,
        "end_user_pseudonym": _hex(end_user),
        "prompt_hmac": _hex(prompt_hmac),
        "answer_hmac": _hex(answer_hmac),
        "hmac_key_id": hashed_with,
    }
    # Only when set, as the leaf has them (records sealed before excerpts existed must still prove).
    prompt_excerpt, answer_excerpt = excerpt(prompt), excerpt(answer)
    if prompt_excerpt:
        leaf["prompt_excerpt"] = prompt_excerpt
    if answer_excerpt:
        leaf["answer_excerpt"] = answer_excerpt
    values = (
        position,
        use_case_id,
        facts.environment,
        live_version_id,
        named_version_id,
        mismatch,
        bytes.fromhex(facts.trace_id),
        bytes.fromhex(facts.span_id),
        facts.response_id,
        facts.conversation_id,
        facts.operation,
        facts.request_model,
        facts.response_model,
        started_at,
        ended_at,
        facts.input_tokens,
        facts.output_tokens,
        tuple(facts.finish_reasons),  # tuples: ``_ListsAsJsonb`` looks them up
        facts.prompt_category,
        tuple(facts.policy_checks),
        facts.response_classification,
        end_user or b"",
        prompt_hmac or b"",
        answer_hmac or b"",
        hashed_with,
        prompt_excerpt,
        answer_excerpt,
    )
    return RecordRow(leaf, values)


class Digests:
    """The HMACs of one batch: the current key read once, and each end user's pseudonym computed once."""

    def __init__(self) -> None:
        self.key_id, self.digest = keys.content_hasher()
        self._pseudonyms: dict[str, bytes] = {}

    def pseudonym(self, end_user: str) -> bytes:
        found = self._pseudonyms.get(end_user)
        if found is None:
            found = self._pseudonyms[end_user] = keys.pseudonym(end_user)
        return found


class _EncodedLists(dict):
    """Each distinct list (as a tuple) to its binary jsonb: the version byte, then the JSON."""

    def __missing__(self, items: tuple[str, ...]) -> bytes:
        encoded = self[items] = b"\x01" + orjson.dumps(items)
        return encoded


class _ListsAsJsonb(Dumper):
    """The jsonb ``COPY`` columns (finish reasons, policy checks), given as tuples of strings. The same few lists
    come on almost every span, so each distinct one is encoded once per ``COPY``, and every value is then a dict
    lookup that the driver's C row writer calls without a Python frame (a dumper's ``dump`` is otherwise Python,
    two calls per record)."""

    format = pq.Format.BINARY
    oid = postgres.types["jsonb"].oid

    def __init__(self, cls: type, context: AdaptContext | None = None) -> None:
        super().__init__(cls, context)
        self._encoded = _EncodedLists()  # one cache per COPY column: gone with the COPY
        self.dump = self._encoded.__getitem__  # the method below, as the C writer can call it

    def dump(self, obj: tuple[str, ...]) -> bytes:
        return self._encoded[obj]


@functools.cache
def _copy_types() -> tuple[int, ...]:
    """The PostgreSQL type of each ``COPY`` column, for binary ``COPY``: read once from the catalogue, as the table
    itself declares them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [f'"{TABLE}"'],
        )
        types = dict(cursor.fetchall())
    return tuple(types[column] for column in COPY_COLUMNS)


def _instance(row: dict[str, Any], *, pk: int | None, batch_id: int) -> InferenceRecord:
    values = {column: value for column, value in row.items() if column not in ("started_at", "ended_at")}
    return InferenceRecord(
        pk=pk,
        batch_id=batch_id,
        started_at=datetime.datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.datetime.fromisoformat(row["ended_at"]) if row["ended_at"] is not None else None,
        **values,
    )


def records_insert(rows: Iterable[RecordRow], *, batch_id: int) -> tuple[list[bytes], list[InferenceRecord]]:
    """Insert the batch's rows, read one at a time from ``rows`` and in that order. Returns each row's Merkle leaf
    data, in order, and, saved, the records whose span named another version than the live one (the ones an
    incident may cite), and no others."""
    if not partitioned():
        return _sqlite_insert([row.leaf for row in rows], batch_id=batch_id)
    leaves: list[bytes] = []
    mismatched: list[int] = []
    columns = ", ".join(f'"{column}"' for column in COPY_COLUMNS)
    types = _copy_types()  # not inside the COPY: the connection runs nothing else until it ends
    # The driver's own errors (a repeated span, say) as Django's, as its cursor would raise them.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        # By OID (which is how a COPY with set types finds them), on this cursor only: the C bytea writer (the
        # default for bytea is a Python subclass of it, which also takes ``psycopg.Binary``) and the lists' jsonb.
        raw.adapters.register_dumper(None, BytesBinaryDumper)
        raw.adapters.register_dumper(None, _ListsAsJsonb)
        with raw.copy(f'COPY "{TABLE}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy:
            copy.set_types(types)
            write_row = copy.write_row
            for leaf, values in rows:
                leaves.append(row_leaf_data(leaf))
                if leaf["version_mismatch"]:
                    mismatched.append(leaf["position"])
                write_row((batch_id, *values))
    if not mismatched:
        return leaves, []
    return leaves, list(InferenceRecord.objects.filter(batch_id=batch_id, position__in=mismatched).order_by("position"))


def _sqlite_insert(rows: list[dict[str, Any]], *, batch_id: int) -> tuple[list[bytes], list[InferenceRecord]]:
    """SQLite: one ``executemany`` of the rows as Django's fields prepare them (``bulk_create`` would split the
    batch by SQLite's parameter limit, a statement per few dozen records). The ids follow the highest given:
    the batch row this transaction inserted first already holds SQLite's one write lock."""
    fields = InferenceRecord._meta.concrete_fields
    with connection.cursor() as cursor:
        # The highest id ever given, not only the highest left: a purged record's id is never reused (an incident
        # may still cite it).
        cursor.execute(
            f'SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), COALESCE(MAX(id), 0)) FROM "{TABLE}"',  # noqa: S608, E501
            [TABLE],
        )
        first = cursor.fetchone()[0] + 1
        records = [_instance(row, pk=first + offset, batch_id=batch_id) for offset, row in enumerate(rows)]
        columns = ", ".join(f'"{field.column}"' for field in fields)
        cursor.executemany(
            f'INSERT INTO "{TABLE}" ({columns}) VALUES ({", ".join(["%s"] * len(fields))})',  # noqa: S608
            [
                [field.get_db_prep_save(getattr(record, field.attname), connection) for field in fields]
                for record in records
            ],
        )
    return [row_leaf_data(row) for row in rows], [record for record in records if record.version_mismatch]
