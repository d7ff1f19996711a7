"""Canonical bytes of governed data: what the ledger hashes and what signatures are bound to.

RFC 8785 (JSON Canonicalization Scheme) makes the bytes reproducible by any auditor with any JCS
implementation: sorted keys, no insignificant whitespace, one number format.
"""

import datetime
import decimal
import enum
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import rfc8785
from django.db import models
from django.db.models.fields.files import FieldFile
from django_fsm import FSMFieldMixin

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


def utc_iso(moment: datetime.datetime) -> str:
    """A time as governed JSON writes it: UTC, to the microsecond, ``Z``. A time already in UTC (the intake writes
    two per record) skips the conversion."""
    if moment.tzinfo is datetime.UTC:
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    if moment.tzinfo is None:
        raise ValueError(f"Naive datetime {moment!r} in governed data; all times are UTC-aware.")
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_jsonable(value: Any) -> JsonValue:
    """Convert a model field value to plain JSON types, losslessly and deterministically."""
    match value:
        case None | bool() | str():
            return value
        case int():
            return value
        case float():
            return value
        case datetime.datetime():
            return utc_iso(value)
        case datetime.date() | datetime.time():
            return value.isoformat()
        case datetime.timedelta():
            return value.total_seconds()
        case decimal.Decimal() | uuid.UUID():
            return str(value)
        case bytes() | bytearray() | memoryview():
            return bytes(value).hex()
        case enum.Enum():
            return to_jsonable(value.value)
        case FieldFile():
            return value.name or None
        case models.Model():
            return to_jsonable(value.pk)
        case dict():
            return {str(key): to_jsonable(item) for key, item in value.items()}
        case list() | tuple() | set() | frozenset():
            items = [to_jsonable(item) for item in value]
            return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"Cannot put {type(value).__name__} into governed JSON.")


def canonical_bytes(document: Any) -> bytes:
    return rfc8785.dumps(to_jsonable(document))


def json_depth(value: Any, *, stop_after: int | None = None) -> int:
    """Levels of objects and lists in a parsed JSON value (a plain value adds none).

    Iterative, so a document nested deeper than Python's recursion limit is measured rather than crashing the
    measurement; with ``stop_after`` it stops at the first container deeper than that, so refusing a hostile
    document costs no more than reading down to the limit. Only containers are visited, never scalars.
    """
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if stop_after is not None and deepest > stop_after:
            return deepest
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def model_label(model: type[models.Model] | models.Model) -> str:
    """``app_label.model_name``: how the ledger names a type."""
    return model._meta.label_lower


def ledger_labels(model: type[models.Model] | models.Model) -> tuple[str, ...]:
    """Every type the ledger has named this model by: its label now, and those from before it moved apps."""
    return (model_label(model), *getattr(model, "former_ledger_labels", ()))


def tracked_fields(model: type[models.Model]) -> Iterable[models.Field]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _as_stored(field: models.Field, value: Any) -> Any:
    """The value as it reads back from the database, so an unsaved ``0`` and a stored ``Decimal('0.00')``
    give the same bytes."""
    if value is None or field.is_relation:
        return value
    value = field.to_python(value)
    if isinstance(field, models.DecimalField):
        return value.quantize(decimal.Decimal(1).scaleb(-field.decimal_places))
    return value


def field_jsonable(field: models.Field, value: Any) -> JsonValue:
    """``value`` of ``field`` as JSON, as it reads back from the database (foreign keys as their raw ids)."""
    return to_jsonable(_as_stored(field, value))


def snapshot(instance: models.Model, fields: Iterable[models.Field] | None = None) -> dict[str, JsonValue]:
    """The record's field values as JSON, foreign keys as their raw ids."""
    chosen = tracked_fields(type(instance)) if fields is None else fields
    return {field.attname: field_jsonable(field, getattr(instance, field.attname)) for field in chosen}


def _digest_fields(model: type[models.Model]) -> list[models.Field]:
    excluded = set(getattr(model, "digest_exclude", ()))
    return [
        field
        for field in tracked_fields(model)
        if field.name not in excluded and not isinstance(field, FSMFieldMixin) and not getattr(field, "auto_now", False)
    ]


def record_digest(instance: models.Model) -> str:
    """SHA-256 over the record's identity and governed fields, as hex; what an electronic signature signs.

    A model whose substance lives in child rows (a RACI revision's assignments, a requirements document's
    constraints) adds them through ``digest_related()``, so editing a child invalidates the signature too.
    """
    document = {
        "type": model_label(instance),
        "id": to_jsonable(instance.pk),
        "fields": snapshot(instance, _digest_fields(type(instance))),
    }
    if hasattr(instance, "digest_related"):
        document["related"] = to_jsonable(instance.digest_related())
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def json_differences(before: JsonValue, after: JsonValue, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, before, after) for every leaf where two JSON documents differ, in key order. Objects are walked
    key by key (a key missing on one side reads as None); anything else, lists included, is compared whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from json_differences(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
    elif before != after:
        yield path, before, after
