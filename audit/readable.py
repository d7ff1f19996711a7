"""Ledger entries in the words of the people who read them: field names, choice labels, people's names and
records' labels, never "None → 1" or "auth.user 8".

The ledger keeps raw values (ids, choice keys) because that is what it hashes; reading it, an auditor wants
"submitted by: (none) → Dana Galloway" and "state: Compliance review → Approved". Labels of related records are
fetched once per related model for a whole page of entries, so the cost does not grow with its rows.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _

from audit.canonical import ledger_labels
from audit.models.ledger import LedgerEntry

ABSENT = "\u2013"  # an en dash, as the admin shows an empty value


@dataclass
class ReadableEntry:
    """An entry with its object's type named as people name it and its changes spelt out."""

    entry: LedgerEntry
    object_type_name: str
    lines: list[str] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return actor_display(self.entry.actor_name)


def models_by_ledger_label() -> dict[str, type[models.Model]]:
    """Every model under each label the ledger has used for it (its label now and those from before a move)."""
    return {label: model for model in apps.get_models() for label in ledger_labels(model)}


def type_name(object_type: str, known: dict[str, type[models.Model]] | None = None) -> str:
    """``dataset version`` for ``lineage.datasetversion``; the raw type only when no model answers to it."""
    model = (known if known is not None else models_by_ledger_label()).get(object_type)
    return str(model._meta.verbose_name) if model is not None else object_type


def actor_display(actor_name: str) -> str:
    """``Dana Galloway`` for the stored ``dana (Dana Galloway)``; a name without a full name as it is."""
    username, _space, rest = actor_name.partition(" (")
    return rest[:-1] if rest.endswith(")") and " " not in username else actor_name


def person_label(user: Any) -> str:
    return (user.get_full_name() if hasattr(user, "get_full_name") else "") or user.get_username()


def readable_entries(entries: Iterable[LedgerEntry]) -> list[ReadableEntry]:
    """The entries with readable lines: one query per model the changed foreign keys point to, none per entry."""
    known = models_by_ledger_label()
    entries = list(entries)
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    plans: list[tuple[ReadableEntry, list[tuple[str, models.Field | None, Any, Any]], dict[str, Any]]] = []
    for entry in entries:
        model = known.get(entry.object_type)
        payload = entry.payload
        readable = ReadableEntry(entry=entry, object_type_name=type_name(entry.object_type, known))
        changes: list[tuple[str, models.Field | None, Any, Any]] = []
        if isinstance(payload.get("changes"), dict):
            for name, change in payload["changes"].items():
                model_field = _field(model, name)
                before, after = (
                    (change.get("before"), change.get("after")) if isinstance(change, dict) else (None, None)
                )
                changes.append((name, model_field, before, after))
                if model_field is not None and model_field.many_to_one:
                    wanted[model_field.related_model].update(v for v in (before, after) if v is not None)
        elif payload.get("transition") is not None:
            changes.append(
                (
                    payload.get("field") or "state",
                    _field(model, payload.get("field") or ""),
                    payload.get("source"),
                    payload.get("target"),
                )
            )
        plans.append((readable, changes, payload))
    labels = {model: _labels(model, ids) for model, ids in wanted.items()}
    for readable, changes, payload in plans:
        for name, model_field, before, after in changes:
            label = str(model_field.verbose_name) if model_field is not None else name.replace("_", " ")
            shown = (_value(model_field, before, labels), _value(model_field, after, labels))
            readable.lines.append(f"{label}: {shown[0]} → {shown[1]}")
        if not changes:
            readable.lines.extend(_other_lines(payload))
        elif payload.get("reason"):
            readable.lines.append(str(payload["reason"]))
    return [readable for readable, _changes, _payload in plans]


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None or not name:
        return None
    try:
        return model._meta.get_field(name)
    except Exception:
        for candidate in model._meta.concrete_fields:
            if candidate.attname == name:
                return candidate
        return None


def _labels(model: type[models.Model], ids: set[Any]) -> dict[str, str]:
    """Label of each id, as text keys (the ledger's ids are JSON). Non-null foreign keys are joined, so that the
    labels' own ``__str__`` reads no further rows."""
    if model is get_user_model():
        return {str(user.pk): person_label(user) for user in model._base_manager.filter(pk__in=ids)}
    queryset = model._base_manager.filter(pk__in=ids).select_related()
    return {str(obj.pk): str(obj) for obj in queryset}


def _value(model_field: models.Field | None, value: Any, labels: dict[type[models.Model], dict[str, str]]) -> str:
    if value is None or value == "":
        return ABSENT
    if model_field is not None:
        if model_field.many_to_one:
            return labels.get(model_field.related_model, {}).get(str(value), f"#{value}")
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(model_field, models.BooleanField):
            return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or ABSENT
    return str(value)


def _other_lines(payload: dict[str, Any]) -> list[str]:
    if payload.get("meaning"):
        return [str(payload["meaning"])]
    if "after" in payload:
        return [_("created")]
    if "before" in payload:
        return [_("deleted")]
    if payload.get("reason"):
        return [str(payload["reason"])]
    if payload.get("attempted"):
        return [str(payload["attempted"])]
    return []


def time_ago(moment: Any, now: Any = None) -> str:
    """``3 hours ago``; ``just now`` under a minute, where ``timesince`` would say "0 minutes"."""
    from django.utils import timezone
    from django.utils.timesince import timesince

    now = now or timezone.now()
    return "just now" if (now - moment).total_seconds() < 60 else f"{timesince(moment, now)} ago"
