"""Replaying the ledger over the governed rows: a row that disagrees with what the ledger says it is was changed
around the services.

The chain verification proves that the ledger itself is intact; it says nothing about the governed tables.
The application's own database role may UPDATE them (only the ledger and history tables carry append-only
triggers), so a plain ``UPDATE ... SET state = 'approved'`` leaves a version approved that no reviewer signed,
and neither history nor ledger shows it. This module replays, for every record of every ``GovernedModel``, the
field values the ledger last recorded (creation snapshot, then each update's ``after`` values and each
transition's target; see ``audit.capture``) and compares them with the row, field by field. A revision whose
substance lives in child rows (``content()``, e.g. a threshold revision's rules) is compared with the content
the ledger recorded for it, figure by figure. It also names a row with no ledger record of its creation, a row
the ledger says was deleted, and a row the ledger says exists that was deleted without an entry.

It streams: rows and the ledger entries of those rows are read a batch at a time (``BATCH`` records, a fixed
number of queries per batch), so neither the ledger nor a table is ever held in memory. A record that seems to
differ is read again, row locked, before it is reported: a service that changed it between the two reads (it
locks the row and writes the ledger in the same transaction) then no longer looks like tampering.
"""

import decimal
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q

from audit.canonical import (
    JsonValue,
    field_jsonable,
    json_differences,
    ledger_labels,
    model_label,
    to_jsonable,
    tracked_fields,
)
from audit.choices import LedgerAction, StateDifferenceKind
from audit.models.base import GovernedModel
from audit.models.ledger import LedgerEntry, LedgerStateDifference, LedgerVerification

logger = logging.getLogger(__name__)

#: Records per batch: one read of the rows, one of their ledger entries, one write of what differs.
BATCH = 500

#: The actions that say what a record is; the rest (signatures, views, denials...) leave it as it was.
REPLAYED_ACTIONS = (LedgerAction.CREATE, LedgerAction.UPDATE, LedgerAction.DELETE, LedgerAction.TRANSITION)

_UNREADABLE = (ValidationError, TypeError, ValueError, decimal.InvalidOperation, OverflowError)


@dataclass
class Finding:
    kind: StateDifferenceKind
    object_type: str
    object_id: str
    object_label: str
    field: str = ""
    ledger_value: JsonValue = None
    row_value: JsonValue = None


@dataclass
class Replayed:
    """What the ledger says one record is, after its entries up to now."""

    created: bool = False
    deleted: bool = False
    fields: dict[str, JsonValue] = field(default_factory=dict)  # attname -> value as recorded
    has_content: bool = False
    content: JsonValue = None
    label: str = ""


@dataclass
class ReplayReport:
    """What a replay found. Memory grows with what differs (nothing, on a sound database), never with the ledger
    or the tables: the verification run it belongs to is written after the replay, and its table is append-only."""

    records_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, object]:
        """The verification run's fields for this replay."""
        return {"state_checked": True, "records_checked": self.records_checked, "state_differences": len(self.findings)}

    def record(self, verification: LedgerVerification) -> None:
        """Keep the differences with the run, ``BATCH`` rows per insert."""
        for start in range(0, len(self.findings), BATCH):
            LedgerStateDifference.objects.bulk_create(
                LedgerStateDifference(
                    verification=verification,
                    kind=finding.kind,
                    object_type=finding.object_type,
                    object_id=finding.object_id,
                    object_label=finding.object_label[:300],
                    field=finding.field[:200],
                    ledger_value=finding.ledger_value,
                    row_value=finding.row_value,
                )
                for finding in self.findings[start : start + BATCH]
            )


def governed_models() -> list[type[models.Model]]:
    """Every concrete governed model, in a stable order."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, GovernedModel) and not model._meta.proxy and not model._meta.abstract
    ]
    return sorted(found, key=model_label)


@functools.cache
def _labels(model: type[models.Model]) -> list[str]:
    """How the ledger may name the model's records: itself and any proxy of it, now and before they moved apps."""
    return sorted({label for m in apps.get_models() if m._meta.concrete_model is model for label in ledger_labels(m)})


@functools.cache
def _fields_by_key(model: type[models.Model]) -> dict[str, models.Field]:
    """Snapshots name fields by attname (``dataset_id``), update diffs by name (``dataset``): both lead to the field."""
    by_key: dict[str, models.Field] = {}
    for model_field in tracked_fields(model):
        by_key[model_field.name] = model_field
        by_key[model_field.attname] = model_field
    return by_key


def _as_recorded(model_field: models.Field, value: JsonValue) -> JsonValue:
    """A value as the ledger recorded it, read back the way the row's value is read (``90`` and ``"90.00"`` for a
    decimal, an ISO time and a datetime compare equal); left as recorded when the field cannot read it."""
    try:
        return field_jsonable(model_field, model_field.to_python(value))
    except _UNREADABLE:
        return value


def replay(entries: Iterable[tuple[str, bytes, str]], by_key: Mapping[str, models.Field]) -> Replayed:
    """Fold one record's entries (action, canonical bytes, object label), in sequence order."""
    state = Replayed()
    for action, canonical, label in entries:
        payload = orjson.loads(canonical).get("payload") or {}
        state.label = label or state.label
        if action == LedgerAction.DELETE:
            state.deleted = True
            continue
        if action == LedgerAction.TRANSITION:
            target_field = by_key.get(payload.get("field") or "")
            if target_field is not None:
                state.fields[target_field.attname] = payload.get("target")
            continue
        if "content" in payload:  # a revision's rows, recorded in their own entry after the revision's row
            state.has_content, state.content = True, payload["content"]
        if isinstance(payload.get("after"), dict):
            if action == LedgerAction.CREATE:
                state.created, state.deleted = True, False
            for key, value in payload["after"].items():
                if key in by_key:
                    state.fields[by_key[key].attname] = value
        if isinstance(payload.get("changes"), dict):
            for key, change in payload["changes"].items():
                if key in by_key and isinstance(change, dict) and "after" in change:  # m2m diffs are not columns
                    state.fields[by_key[key].attname] = change["after"]
    return state


def compare(row: models.Model, state: Replayed, by_key: Mapping[str, models.Field]) -> list[Finding]:
    """How ``row`` disagrees with what the ledger says of it."""
    object_id, object_type = str(row.pk), model_label(row)
    label = (row.ledger_label() if hasattr(row, "ledger_label") else str(row))[:300]
    findings: list[Finding] = []
    if state.deleted:
        findings.append(Finding(StateDifferenceKind.UNDELETED, object_type, object_id, label))
    elif not state.created:
        findings.append(Finding(StateDifferenceKind.UNRECORDED, object_type, object_id, label))
    for attname, recorded in sorted(state.fields.items()):
        model_field = by_key[attname]
        expected = _as_recorded(model_field, recorded)
        actual = field_jsonable(model_field, getattr(row, attname))
        if expected != actual:
            findings.append(
                Finding(StateDifferenceKind.FIELD, object_type, object_id, label, model_field.name, expected, actual)
            )
    if state.has_content and hasattr(row, "content"):
        current = to_jsonable(row.content())
        for path, recorded, now in json_differences(state.content, current, "content"):
            findings.append(Finding(StateDifferenceKind.FIELD, object_type, object_id, label, path, recorded, now))
    return findings


def _entries_by_record(labels: list[str], object_ids: list[str]) -> dict[str, list[tuple[str, bytes, str]]]:
    """The replayed entries of these records, in sequence order per record: one query."""
    entries: dict[str, list[tuple[str, bytes, str]]] = defaultdict(list)
    rows = (
        LedgerEntry.objects.filter(object_type__in=labels, object_id__in=object_ids, action__in=REPLAYED_ACTIONS)
        .order_by("object_id", "sequence")
        .values_list("object_id", "action", "canonical", "object_label")
    )
    for object_id, action, canonical, label in rows:
        entries[object_id].append((action, bytes(canonical), label))
    return entries


def _rows(model: type[models.Model], *, after: Any = None, pks: list[Any] | None = None, lock: bool = False):
    queryset = model._base_manager.order_by("pk")
    prefetch = getattr(model, "content_prefetch", ())
    if prefetch:
        queryset = queryset.prefetch_related(*prefetch)
    if lock:
        queryset = queryset.select_for_update()
    if pks is not None:
        return list(queryset.filter(pk__in=pks))
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    return list(queryset[:BATCH])


def _findings(model: type[models.Model], rows: list[models.Model]) -> list[Finding]:
    by_key = _fields_by_key(model)
    entries = _entries_by_record(_labels(model), [str(row.pk) for row in rows])
    findings: list[Finding] = []
    for row in rows:
        findings += compare(row, replay(entries.get(str(row.pk), ()), by_key), by_key)
    return findings


def _check_rows(model: type[models.Model], rows: list[models.Model]) -> list[Finding]:
    """What differs in a batch of rows, confirmed by a second read with the suspect rows locked: a service that
    changed one between the two reads has committed by then. A row deleted meanwhile is left to ``_missing_rows``."""
    findings = _findings(model, rows)
    if not findings:
        return []
    suspects = sorted({row.pk for row in rows if str(row.pk) in {finding.object_id for finding in findings}})
    with transaction.atomic():
        return _findings(model, _rows(model, pks=suspects, lock=True))


def _missing_rows(model: type[models.Model]) -> Iterator[list[Finding]]:
    """Records the ledger says exist (created, never deleted) whose row is gone, a batch at a time."""
    labels, by_key = _labels(model), _fields_by_key(model)
    created = LedgerEntry.objects.filter(object_type__in=labels, action=LedgerAction.CREATE)
    last = None
    while True:
        page = created.order_by("object_id")
        if last is not None:
            page = page.filter(object_id__gt=last)
        object_ids = list(page.values_list("object_id", flat=True).distinct()[:BATCH])
        if not object_ids:
            return
        last = object_ids[-1]
        pks = {}
        for object_id in object_ids:
            try:
                pks[object_id] = model._meta.pk.to_python(object_id)
            except _UNREADABLE:
                continue
        present = {str(pk) for pk in model._base_manager.filter(pk__in=list(pks.values())).values_list("pk", flat=True)}
        missing = [object_id for object_id in pks if object_id not in present]
        if not missing:
            continue
        entries = _entries_by_record(labels, missing)
        findings = []
        for object_id in missing:
            state = replay(entries.get(object_id, ()), by_key)
            if state.created and not state.deleted:
                findings.append(Finding(StateDifferenceKind.VANISHED, model_label(model), object_id, state.label))
        yield findings


def ledger_state_replay() -> ReplayReport:
    """Replay the ledger over every governed row; what differs is logged as an error and returned, to be kept
    with the verification run (``ReplayReport.record``)."""
    report = ReplayReport()
    for model in governed_models():
        after = None
        while rows := _rows(model, after=after):
            after = rows[-1].pk
            report.records_checked += len(rows)
            report.findings += _check_rows(model, rows)
        for findings in _missing_rows(model):
            report.findings += findings
    for finding in report.findings[:50]:
        logger.error(
            "Governed row differs from the audit ledger: %s #%s (%s) %s %s",
            finding.object_type,
            finding.object_id,
            finding.object_label,
            finding.kind,
            finding.field,
        )
    return report


# --- Reads for the landing page and the promotion gate ------------------------------------------------------


def latest_state_replay() -> LedgerVerification | None:
    """The latest verification that replayed the governed rows: it stands until another replay, since a run of
    the chain alone says nothing about the rows."""
    return LedgerVerification.objects.filter(state_checked=True).order_by("-started_at", "-id").first()


def state_differences_for(
    records: Mapping[type[models.Model], Iterable[Any]], *, verification: LedgerVerification | None = None
) -> list[LedgerStateDifference]:
    """What the latest replay found in these records (model -> primary keys): one query, or two without
    ``verification``."""
    verification = verification or latest_state_replay()
    if verification is None or not verification.state_differences:
        return []
    wanted = Q()
    for model, pks in records.items():
        object_ids = sorted({str(pk) for pk in pks if pk is not None})
        if object_ids:
            wanted |= Q(object_type__in=_labels(model._meta.concrete_model), object_id__in=object_ids)
    if not wanted:
        return []
    return list(verification.differences.filter(wanted).order_by("object_type", "object_id", "field"))


def describe(difference: LedgerStateDifference) -> str:
    """One line naming the record and what differs, for commands, pages and gate problems."""
    where = difference.object_label or f"{difference.object_type} #{difference.object_id}"
    where = f"{where} ({difference.object_type} #{difference.object_id})"
    if difference.kind == StateDifferenceKind.FIELD:
        return (
            f"{where}: {difference.field} is {difference.row_value!r} in the database but "
            f"{difference.ledger_value!r} in the ledger"
        )
    return f"{where}: {StateDifferenceKind(difference.kind).label.lower()}"
