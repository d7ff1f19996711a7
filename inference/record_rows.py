"""Inference records as the intake writes them: plain rows, not model instances, and one ``COPY`` per batch.

A request of a thousand spans is a thousand records. Building a model instance for each, and having the ORM turn
it back into SQL parameters, cost more than everything else the intake does, so a record is made once, as its leaf
document (``inference.proofs``: the column values as JSON, keyed by column), and that one dict serves the Merkle
leaf, the insert and, for the few records a version-mismatch incident cites, a model instance.

On PostgreSQL the rows go in with a binary ``COPY ... FROM STDIN`` on the service's own connection, inside its
transaction: the batch row, the records and the ledger entry still commit or roll back together. The rows are
streamed as they are made, so the server is already checking and indexing the first ones (on another core) while
the rest are being read and hashed; the ids come from the column's default. SQLite gets one ``executemany``.
"""

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection

from inference import keys
from inference.models import InferenceRecord
from inference.otlp import SpanFacts
from inference.partitions import TABLE, partitioned
from inference.proofs import iso_time, row_leaf_data

#: Columns stored as bytes and written in the leaf as hex (``inference.fields.HexBytesField``).
_HEX_COLUMNS = frozenset(
    field.attname for field in InferenceRecord._meta.concrete_fields if field.get_internal_type() == "BinaryField"
)
_TIME_COLUMNS = frozenset(
    field.attname for field in InferenceRecord._meta.concrete_fields if field.get_internal_type() == "DateTimeField"
)
#: The columns a leaf holds, in ``COPY`` order after the id and the batch.
_LEAF_COLUMNS = tuple(
    field.attname for field in InferenceRecord._meta.concrete_fields if field.attname not in ("id", "batch_id")
)


def record_row(
    facts: SpanFacts,
    *,
    position: int,
    use_case_id: int,
    live_version_id: int | None,
    named_version_id: int | None,
    digest: Callable[[str], str],
    pseudonym: Callable[[str], str],
    key_id: str,
    excerpt: Callable[[str | None], str],
) -> dict[str, Any]:
    """The record of one span as its leaf document: JSON values keyed by column (no id nor batch yet)."""
    prompt, answer = facts.prompt, facts.answer
    row = {
        "position": position,
        "use_case_id": use_case_id,
        "environment": facts.environment,
        "model_version_id": live_version_id,
        "named_version_id": named_version_id,
        "version_mismatch": named_version_id is not None and named_version_id != live_version_id,
        "trace_id": facts.trace_id,
        "span_id": facts.span_id,
        "response_id": facts.response_id,
        "conversation_id": facts.conversation_id,
        "operation": facts.operation,
        "request_model": facts.request_model,
        "response_model": facts.response_model,
        "started_at": iso_time(facts.started_at),
        "ended_at": iso_time(facts.ended_at) if facts.ended_at is not None else None,
        "input_tokens": facts.input_tokens,
        "output_tokens": facts.output_tokens,
        "finish_reasons": facts.finish_reasons,
        "prompt_category": facts.prompt_category,
        "policy_checks": facts.policy_checks,
        "response_classification": facts.response_classification,
        "end_user_pseudonym": pseudonym(facts.end_user) if facts.end_user else "",
        "prompt_hmac": digest(prompt) if prompt is not None else "",
        "answer_hmac": digest(answer) if answer is not None else "",
        "hmac_key_id": key_id if prompt is not None or answer is not None else "",
    }
    # Only when set, as the leaf has them (records sealed before excerpts existed must still prove).
    prompt_excerpt, answer_excerpt = excerpt(prompt), excerpt(answer)
    if prompt_excerpt:
        row["prompt_excerpt"] = prompt_excerpt
    if answer_excerpt:
        row["answer_excerpt"] = answer_excerpt
    return row


class Digests:
    """The HMACs of one batch: the current key read once, and each end user's pseudonym computed once."""

    def __init__(self) -> None:
        self.key_id, self.digest = keys.content_hasher()
        self._pseudonyms: dict[str, str] = {}

    def pseudonym(self, end_user: str) -> str:
        found = self._pseudonyms.get(end_user)
        if found is None:
            found = self._pseudonyms[end_user] = keys.pseudonym(end_user)
        return found


def _from_hex(value: str | None) -> bytes | None:
    return bytes.fromhex(value) if value is not None else None


def _from_iso(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value is not None else None


#: Each ``COPY`` column with what turns its leaf value into the value binary ``COPY`` sends (None: as it is).
_COPY_COLUMNS = tuple(
    (column, _from_hex if column in _HEX_COLUMNS else _from_iso if column in _TIME_COLUMNS else None)
    for column in _LEAF_COLUMNS
)


@functools.cache
def _copy_types() -> tuple[int, ...]:
    """The PostgreSQL type of each ``COPY`` column (batch first), for binary ``COPY``: read once from the catalogue,
    as the table itself declares them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [f'"{TABLE}"'],
        )
        types = dict(cursor.fetchall())
    return tuple(types[column] for column in ("batch_id", *_LEAF_COLUMNS))


def _instance(row: dict[str, Any], *, pk: int | None, batch_id: int) -> InferenceRecord:
    values = {column: value for column, value in row.items() if column not in ("started_at", "ended_at")}
    return InferenceRecord(
        pk=pk,
        batch_id=batch_id,
        started_at=datetime.datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.datetime.fromisoformat(row["ended_at"]) if row["ended_at"] is not None else None,
        **values,
    )


def records_insert(rows: Iterable[dict[str, Any]], *, batch_id: int) -> tuple[list[bytes], list[InferenceRecord]]:
    """Insert the batch's rows, read one at a time from ``rows`` and in that order. Returns each row's Merkle leaf
    data, in order, and, saved, the records whose span named another version than the live one (the ones an
    incident may cite), and no others."""
    if not partitioned():
        return _sqlite_insert(list(rows), batch_id=batch_id)
    leaves: list[bytes] = []
    mismatched: list[int] = []
    columns = ", ".join(f'"{column}"' for column in ("batch_id", *_LEAF_COLUMNS))
    types = _copy_types()  # not inside the COPY: the connection runs nothing else until it ends
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{TABLE}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy,
    ):
        copy.set_types(types)
        write_row = copy.write_row
        for row in rows:
            leaves.append(row_leaf_data(row))
            if row["version_mismatch"]:
                mismatched.append(row["position"])
            # An excerpt absent from the leaf is an empty one.
            write_row(
                [batch_id]
                + [
                    row.get(column, "") if convert is None else convert(row.get(column, ""))
                    for column, convert in _COPY_COLUMNS
                ]
            )
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
