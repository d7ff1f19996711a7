"""Turns governed changes into ledger entries, in the transaction that makes them.

Connected in ``GovernanceConfig.ready``:
- every simple-history row (create, update with before/after of the changed fields, delete);
- every django-fsm transition (name, field, source and target state).
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.http import HttpRequest

from audit import audit_context, ledger
from audit.canonical import snapshot, to_jsonable, tracked_fields
from audit.choices import LedgerAction

_HISTORY_ACTIONS = {"+": LedgerAction.CREATE, "~": LedgerAction.UPDATE, "-": LedgerAction.DELETE}


def history_user(instance: models.Model, request: HttpRequest | None) -> AbstractBaseUser | None:
    """simple-history's ``get_user``: the actor of the audit context (service or request)."""
    actor = audit_context.current().actor
    if actor is not None:
        return actor
    if request is not None and request.user.is_authenticated:
        return request.user
    return None


def _history_snapshot(history_instance: models.Model, model: type[models.Model]) -> dict[str, Any]:
    fields = [field for field in tracked_fields(model) if hasattr(history_instance, field.attname)]
    return snapshot(history_instance, fields)


def _history_changes(history_instance: Any, model: type[models.Model]) -> dict[str, Any] | None:
    previous = history_instance.prev_record
    if previous is None:
        return None
    delta = history_instance.diff_against(previous)
    changes = {
        change.field: {"before": to_jsonable(change.old), "after": to_jsonable(change.new)} for change in delta.changes
    }
    # ``diff_against`` compares editable fields only; the ledger records every column that changed (an
    # ``auto_now`` time, a non-editable digest), so that replaying it gives the row (``audit.state_replay``).
    for field in tracked_fields(model):
        if field.editable or field.name in changes or not hasattr(history_instance, field.attname):
            continue
        before, after = getattr(previous, field.attname), getattr(history_instance, field.attname)
        if before != after:
            changes[field.name] = {"before": to_jsonable(before), "after": to_jsonable(after)}
    return changes


def history_to_ledger(
    sender: type[models.Model],
    instance: models.Model,
    history_instance: Any,
    history_user: AbstractBaseUser | None = None,
    history_change_reason: str | None = None,
    **kwargs: Any,
) -> None:
    action = _HISTORY_ACTIONS[history_instance.history_type]
    payload: dict[str, Any] = {"history_id": history_instance.history_id}
    if action == LedgerAction.UPDATE:
        changes = _history_changes(history_instance, sender)
        if changes is None:
            payload["after"] = _history_snapshot(history_instance, sender)
        else:
            payload["changes"] = changes
    elif action == LedgerAction.CREATE:
        payload["after"] = _history_snapshot(history_instance, sender)
    else:
        payload["before"] = _history_snapshot(history_instance, sender)
    if history_change_reason:
        payload["reason"] = history_change_reason
    context = audit_context.current()
    ledger.append(
        action=action,
        obj=instance,
        payload=payload,
        actor=history_user or context.actor,
        actor_name="" if history_user else context.actor_name,
    )


def transition_to_ledger(
    sender: type[models.Model],
    instance: models.Model,
    name: str,
    source: Any,
    target: Any,
    field: models.Field | None = None,
    **kwargs: Any,
) -> None:
    ledger.append(
        action=LedgerAction.TRANSITION,
        obj=instance,
        payload={
            "transition": name,
            "field": field.name if field is not None else None,
            "source": to_jsonable(source),
            "target": to_jsonable(target),
        },
    )
