"""Retraining cadence: flag use cases due on schedule or on a trigger event; clear the flag on retraining."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import denials_recorded
from governance.choices import RetrainingSchedule, RetrainingTrigger
from governance.models import RetrainingCadence, UseCase

SCHEDULER = "system:retraining-scheduler"


def retraining_cadence_set(
    *, use_case: UseCase, actor: AbstractBaseUser, schedule: str, triggers: list[str]
) -> RetrainingCadence:
    if schedule not in RetrainingSchedule.values:
        raise ValidationError({"schedule": f"Unknown schedule {schedule!r}."})
    unknown = sorted(set(triggers) - set(RetrainingTrigger.values))
    if unknown:
        raise ValidationError({"triggers": f"Unknown trigger events: {', '.join(unknown)}."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require(actor, "governance.change_retrainingcadence", attempted="retraining_cadence_set", obj=locked)
        cadence, _created = RetrainingCadence.objects.select_for_update().get_or_create(
            use_case=locked, defaults={"schedule": schedule, "triggers": sorted(set(triggers))}
        )
        if not _created and (cadence.schedule, cadence.triggers) != (schedule, sorted(set(triggers))):
            cadence.schedule, cadence.triggers = schedule, sorted(set(triggers))
            cadence.save()
        return cadence


def _flag(cadence: RetrainingCadence, reason: str, now: datetime.datetime) -> bool:
    if cadence.due_since is not None:
        return False
    cadence.due_since, cadence.due_reason = now, reason[:300]
    cadence.save()
    return True


def retraining_flag_due(*, now: datetime.datetime | None = None) -> list[RetrainingCadence]:
    """Flag every use case whose scheduled retraining has come due. Idempotent: flagged ones stay as they are."""
    now = now or timezone.now()
    flagged = []
    with transaction.atomic(), acting_as(actor_name=SCHEDULER):
        candidates = RetrainingCadence.objects.select_for_update().filter(due_since__isnull=True)
        for cadence in candidates.select_related("use_case"):
            due_at = cadence.next_due_at
            if due_at is not None and due_at <= now:
                reason = f"{cadence.get_schedule_display()} retraining due since {due_at:%Y-%m-%d}"
                if _flag(cadence, reason, now):
                    flagged.append(cadence)
    return flagged


def retraining_trigger_event(*, use_case: UseCase, trigger: str, detail: str) -> bool:
    """An event happened (incident, policy change, erasure request ...); flag the use case if it listens for it."""
    if trigger not in RetrainingTrigger.values:
        raise ValidationError(f"Unknown trigger event {trigger!r}.")
    with transaction.atomic(), acting_as(actor_name=SCHEDULER):
        cadence = RetrainingCadence.objects.select_for_update().filter(use_case=use_case).first()
        if cadence is None or trigger not in cadence.triggers:
            return False
        return _flag(cadence, f"{RetrainingTrigger(trigger).label}: {detail}", timezone.now())


def retraining_completed(*, use_case: UseCase, retrained_at: datetime.datetime, actor_name: str) -> RetrainingCadence:
    """A new model version was trained for the use case: the clock restarts and the flag clears."""
    with transaction.atomic(), acting_as(actor_name=actor_name):
        cadence = RetrainingCadence.objects.select_for_update().get(use_case=use_case)
        cadence.last_retrained_at, cadence.due_since, cadence.due_reason = retrained_at, None, ""
        cadence.save()
        return cadence
