"""Inference records as the intake writes them: plain rows, not model instances, and one ``COPY`` per batch.

A request of a thousand spans is a thousand records. Building a model instance for each, and having the ORM turn
it back into SQL parameters, cost more than everything else the intake does, so a record is made once, as its leaf
document (``inference.proofs``: the column values as JSON, keyed by column), and that one dict serves the Merkle
leaf, the insert and, for the few records a version-mismatch incident cites, a model instance.

On PostgreSQL the rows go in with ``COPY ... FROM STDIN`` on the service's own connection, inside its transaction:
the batch row, the records and the ledger entry still commit or roll back together. ``COPY`` returns no ids, so
they are taken from the table's sequence first, in one statement for the whole batch. SQLite gets
one ``executemany``. The leaf's times are ISO 8601 text, which PostgreSQL reads as they are.
"""

import datetime
import json
from collections.abc import Callable
from typing import Any

from django.db import connection

from inference import keys
from inference.models import InferenceRecord
from inference.otlp import SpanFacts
from inference.partitions import TABLE, partitioned
from inference.proofs import iso_time

#: The record table's id sequence (made by the partitioning migration, ``0002``).
ID_SEQUENCE = f"{TABLE}_id_seq"

#: Columns stored as bytes and written in the leaf as hex (``inference.fields.HexBytesField``).
_HEX_COLUMNS = frozenset(
    field.attname for field in InferenceRecord._meta.concrete_fields if field.get_internal_type() == "BinaryField"
)
_JSON_COLUMNS = frozenset(
    field.attname for field in InferenceRecord._meta.concrete_fields if field.get_internal_type() == "JSONField"
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


def _stored(column: str, value: Any) -> Any:
    """A leaf value as the ``COPY`` row carries it."""
    if column in _HEX_COLUMNS:
        return bytes.fromhex(value) if value is not None else None
    if column in _JSON_COLUMNS:
        return json.dumps(value)
    return value


def _instance(row: dict[str, Any], *, pk: int | None, batch_id: int) -> InferenceRecord:
    values = {column: value for column, value in row.items() if column not in ("started_at", "ended_at")}
    return InferenceRecord(
        pk=pk,
        batch_id=batch_id,
        started_at=datetime.datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.datetime.fromisoformat(row["ended_at"]) if row["ended_at"] is not None else None,
        **values,
    )


def records_insert(rows: list[dict[str, Any]], *, batch_id: int) -> list[InferenceRecord]:
    """Insert the batch's rows; returns, saved, the records whose span named another version than the live one
    (the ones an incident may cite), and no others."""
    if not partitioned():
        return _sqlite_insert(rows, batch_id=batch_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [ID_SEQUENCE, len(rows)])
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(f'"{column}"' for column in ("id", "batch_id", *_LEAF_COLUMNS))
        with cursor.cursor.copy(f'COPY "{TABLE}" ({columns}) FROM STDIN') as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row(
                    [pk, batch_id]
                    + [_stored(column, row.get(column, "")) for column in _LEAF_COLUMNS]  # absent: an empty excerpt
                )
    return [
        _instance(row, pk=pk, batch_id=batch_id) for pk, row in zip(ids, rows, strict=True) if row["version_mismatch"]
    ]


def _sqlite_insert(rows: list[dict[str, Any]], *, batch_id: int) -> list[InferenceRecord]:
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
    return [record for record in records if record.version_mismatch]
