"""Break glass: the one sanctioned way past a gate, for emergencies, and never quietly."""

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from accounts.authz import holds_approval_permission
from accounts.services.signatures import signature_sign
from audit import ledger
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.models import BreakGlassOverride

MIN_JUSTIFICATION = 30


def break_glass_override(
    *,
    record: models.Model,
    gate: str,
    justification: str,
    requested_by: AbstractBaseUser,
    approver: AbstractBaseUser,
    approver_password: str,
) -> BreakGlassOverride:
    """Record an approved bypass of ``gate`` for ``record``.

    Needs a written justification, and a second person holding the approve-override permission (Risk
    Officers), who signs it with their password. The gate's own service checks for an override with
    ``overrides_for``; this service only records and authorises it.
    """
    justification = justification.strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise ValueError(
            f"A break-glass override needs a written justification of at least {MIN_JUSTIFICATION} characters"
        )
    gate = gate.strip()
    if not gate:
        raise ValueError("Name the gate being bypassed.")
    with denials_recorded(), transaction.atomic():
        if approver.pk == requested_by.pk:
            raise ActionDenied(
                "A break-glass override needs a second person: you cannot approve your own request.",
                actor=approver,
                attempted=f"break glass: {gate}",
                obj=record,
            )
        if not holds_approval_permission(approver, "governance.approve_breakglassoverride"):
            raise ActionDenied(
                "Only a Risk Officer may approve a break-glass override.",
                actor=approver,
                attempted=f"break glass: {gate}",
                obj=record,
            )
        signature = signature_sign(
            record=record,
            signer=approver,
            password=approver_password,
            meaning=f"Break-glass override approved: {gate}",
        )
        entry = ledger.append(
            action=LedgerAction.OVERRIDE,
            obj=record,
            actor=requested_by,
            payload={
                "gate": gate,
                "justification": justification,
                "approved_by": approver.get_username(),
                "approval_signature": signature.pk,
            },
        )
        return BreakGlassOverride.objects.create(
            content_type=ContentType.objects.get_for_model(record),
            object_id=str(record.pk),
            object_label=entry.object_label,
            gate=gate,
            justification=justification,
            requested_by=requested_by,
            approved_by=approver,
            approval_signature=signature,
            ledger_entry=entry,
        )


def overrides_for(record: models.Model) -> models.QuerySet[BreakGlassOverride]:
    """Every override on the record: gates consult it, evidence packs flag it."""
    return BreakGlassOverride.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    ).select_related("requested_by", "approved_by", "approval_signature")
