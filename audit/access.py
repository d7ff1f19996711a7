"""Recording reads of governed evidence (audit trails viewed, exports, downloads)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction

from audit import audit_context, ledger
from audit.canonical import model_label, to_jsonable
from audit.choices import AccessKind, LedgerAction
from audit.models.access import AccessEvent

_LEDGER_ACTIONS = {AccessKind.EXPORT: LedgerAction.EXPORT, AccessKind.DOWNLOAD: LedgerAction.DOWNLOAD}


def access_record(
    *,
    user: AbstractBaseUser,
    kind: AccessKind,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """Record that ``user`` read something. Exports and downloads also go to the audit ledger: they are
    disclosures of evidence, and an auditor must be able to prove who took what out."""
    if obj is not None:
        object_type = object_type or model_label(obj)
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:300]
    detail = to_jsonable(detail or {})
    with transaction.atomic():
        event = AccessEvent.objects.create(
            user=user,
            kind=kind,
            object_type=object_type,
            object_id=object_id,
            object_label=object_label[:300],
            detail=detail,
            request_id=audit_context.current().request_id,
        )
        if kind in _LEDGER_ACTIONS:
            ledger.append(
                action=_LEDGER_ACTIONS[kind],
                actor=user,
                object_type=object_type,
                object_id=object_id,
                object_label=object_label,
                payload={"access_event": event.pk, **detail},
            )
        return event
