"""Monitoring summaries from the serving side; a rate above its alert threshold raises a draft incident."""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import denials_recorded
from registry.models import Deployment, MonitoringSummary
from registry.services.incidents import incident_raise_draft
from registry.tasks import check_model_version_provenance

#: summary field -> (deployment threshold field, what it is called)
RATES = {
    "policy_violation_rate": ("max_policy_violation_rate", "policy-violation rate"),
    "refusal_rate": ("max_refusal_rate", "refusal rate"),
    "escalation_rate": ("max_escalation_rate", "escalation rate"),
    "human_override_rate": ("max_human_override_rate", "human-override rate"),
}


def _rate(value: object, field: str, errors: dict[str, str]) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[field] = f"{value!r} is not a number."
        return None
    if not number.is_finite() or not 0 <= number <= 100:
        errors[field] = "A rate is a percentage between 0 and 100."
        return None
    return number.quantize(Decimal("0.01"))


def monitoring_summary_record(
    *,
    deployment: Deployment,
    actor: AbstractBaseUser,
    period_start: datetime.datetime,
    period_end: datetime.datetime,
    volume: int,
    review_backlog: int | None = None,
    **rates: object,
) -> MonitoringSummary:
    """Record one period of a deployment; rates are percentages. Above any alert threshold, a draft incident
    is raised and linked. ``review_backlog`` is for summaries computed from the records, which know how many of
    the period's escalations still wait for a human; a posted summary leaves it unknown."""
    errors: dict[str, str] = {}
    if set(rates) != set(RATES):
        raise TypeError(f"Give exactly these rates: {', '.join(sorted(RATES))}")
    cleaned = {field: _rate(value, field, errors) for field, value in rates.items()}
    if not isinstance(volume, int) or volume < 0:
        errors["volume"] = "The volume is a whole number of conversations, zero or more."
    if review_backlog is not None and (not isinstance(review_backlog, int) or review_backlog < 0):
        errors["review_backlog"] = "The backlog is a whole number of answers, zero or more."
    if period_end <= period_start:
        errors["period_end"] = "The period must end after it starts."
    if errors:
        raise ValidationError(errors)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = (
            Deployment.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=deployment.pk)
        )
        require(actor, "registry.add_monitoringsummary", attempted="monitoring_summary_record", obj=locked)
        if locked.current_version is None:
            raise ValidationError({"deployment": f"Nothing is deployed in {locked}."})
        if MonitoringSummary.objects.filter(
            deployment=locked, period_start=period_start, period_end=period_end
        ).exists():
            raise ValidationError({"period_start": "This period of the deployment is already recorded."})
        alerts = [
            f"{label} {cleaned[field]}% is above the alert threshold of {getattr(locked, limit)}%"
            for field, (limit, label) in RATES.items()
            if cleaned[field] > getattr(locked, limit)
        ]
        summary = MonitoringSummary(
            deployment=locked,
            model_version=locked.current_version,
            period_start=period_start,
            period_end=period_end,
            volume=volume,
            review_backlog=review_backlog,
            alerts=alerts,
            reported_by=actor.get_username(),
            **cleaned,
        )
        if alerts:
            summary.incident = incident_raise_draft(
                deployment=locked,
                title=f"Monitoring alert on {locked}",
                description="; ".join(alerts)
                + f" (period {period_start:%Y-%m-%d %H:%M} to {period_end:%Y-%m-%d %H:%M} UTC).",
            )
        summary.full_clean()
        summary.save()
        # Production rates far from what validation measured are a provenance contradiction.
        transaction.on_commit(lambda: check_model_version_provenance.delay(summary.model_version_id), robust=True)
        return summary
