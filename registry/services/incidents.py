"""Incidents: opened by people or raised by monitoring, contained, traced to a root cause, closed."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import RetrainingTrigger
from governance.models import UseCase
from governance.services.retraining import retraining_trigger_event
from lineage.models import DatasetVersion
from registry.choices import (
    REVIEWED_SEVERITIES,
    Containment,
    IncidentSeverity,
    IncidentSource,
    IncidentState,
    RootCauseKind,
)
from registry.models import Deployment, Incident, ModelVersion, TrainingRun, ValidationCase

MONITOR = "system:monitoring"
MIN_REVIEW_CHARS = 40


def _new_incident(**fields: object) -> Incident:
    if fields["severity"] not in IncidentSeverity.values:
        raise ValidationError({"severity": "Choose SEV1 to SEV4."})
    if fields["source"] not in IncidentSource.values:
        raise ValidationError({"source": "Choose where the incident was detected."})
    incident = Incident(**fields)
    incident.full_clean()
    incident.save()
    return incident


def incident_open(
    *,
    use_case: UseCase,
    actor: AbstractBaseUser,
    title: str,
    description: str,
    severity: str,
    source: str,
    model_version: ModelVersion | None = None,
    deployment: Deployment | None = None,
) -> Incident:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.add_incident", attempted="incident_open", obj=use_case)
        return _new_incident(
            use_case=use_case,
            title=title.strip(),
            description=description.strip(),
            severity=severity,
            source=source,
            model_version=model_version,
            deployment=deployment,
            reported_by=actor.get_username(),
        )


def incident_raise_on_call(
    *,
    deployment: Deployment,
    incident: Incident | None,
    actor: AbstractBaseUser,
    title: str,
    description: str,
    severity: str,
) -> Incident:
    """The incident an on-call action (rollback, kill switch) is recorded on: ``incident`` if given, which must
    be open and about the deployment's use case, else a new one. Called inside the deployment services, which
    hold the permission for the action and so for its incident."""
    if incident is not None:
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.use_case_id != deployment.use_case_id:
            raise ValidationError({"incident": f"{locked.identifier} is about another use case."})
        if locked.state in (IncidentState.RESOLVED, IncidentState.CLOSED, IncidentState.DISMISSED):
            raise ValidationError(
                {"incident": f"{locked.identifier} is {locked.get_state_display().lower()}; link an open incident."}
            )
        return locked
    return _new_incident(
        use_case_id=deployment.use_case_id,
        title=title,
        description=description,
        severity=severity,
        source=IncidentSource.ON_CALL,
        model_version_id=deployment.current_version_id,
        deployment=deployment,
        reported_by=actor.get_username(),
    )


def incident_raise_draft(
    *, deployment: Deployment, title: str, description: str, model_version: ModelVersion | None = None
) -> Incident:
    """Monitoring raises a draft; a person confirms or dismisses it. Called inside the monitoring service, and by
    the inference intake for answers of ``model_version`` where the deployment was not serving it."""
    with acting_as(actor_name=MONITOR):
        return _new_incident(
            use_case_id=deployment.use_case_id,
            title=title[:200],
            description=description,
            severity=IncidentSeverity.SEV3,
            source=IncidentSource.MONITORING_ALERT,
            state=IncidentState.DRAFT,
            model_version_id=model_version.pk if model_version is not None else deployment.current_version_id,
            deployment=deployment,
            reported_by=MONITOR,
        )


def _locked(incident: Incident, actor: AbstractBaseUser, permission: str, attempted: str) -> Incident:
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    require(actor, permission, attempted=attempted, obj=locked)
    return locked


def _refuse_state(locked: Incident, actor: AbstractBaseUser, attempted: str, wanted: str) -> None:
    raise ActionDenied(
        f"{locked.identifier} is {locked.get_state_display().lower()}; {wanted}",
        actor=actor,
        attempted=attempted,
        obj=locked,
    )


def incident_confirm(*, incident: Incident, actor: AbstractBaseUser, severity: str | None = None) -> Incident:
    """A person confirms a draft raised by monitoring, adjusting its severity if needed."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(incident, actor, "registry.change_incident", "incident_confirm")
        if locked.state != IncidentState.DRAFT:
            _refuse_state(locked, actor, "incident_confirm", "only a draft is confirmed.")
        if severity:
            if severity not in IncidentSeverity.values:
                raise ValidationError({"severity": "Choose SEV1 to SEV4."})
            locked.severity = severity
        locked.confirm()
        locked.save()
        return locked


def incident_dismiss(*, incident: Incident, actor: AbstractBaseUser, reason: str) -> Incident:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the alert is not an incident."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(incident, actor, "registry.change_incident", "incident_dismiss")
        if locked.state != IncidentState.DRAFT:
            _refuse_state(locked, actor, "incident_dismiss", "only a draft is dismissed.")
        locked.dismiss()
        locked._change_reason = reason.strip()[:100]
        locked.save()
        return locked


def incident_record_containment(incident: Incident, action: Containment) -> None:
    """Inside a service's transaction, on a locked incident: note the containment and mark it contained."""
    if action.value not in incident.containment:
        incident.containment = [*incident.containment, action.value]
    if incident.state == IncidentState.DRAFT:
        incident.confirm()
    if incident.state in (IncidentState.OPEN, IncidentState.CONTAINED):
        incident.contain()
    incident.save()


def incident_contain(*, incident: Incident, actor: AbstractBaseUser, action: str) -> Incident:
    """Record containment done outside the portal (a rate limit, a disabled intent)."""
    if action not in Containment.values:
        raise ValidationError({"action": "Choose rollback, kill switch, rate limit or disabled intent."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(incident, actor, "registry.change_incident", "incident_contain")
        if locked.state not in (IncidentState.OPEN, IncidentState.CONTAINED):
            _refuse_state(locked, actor, "incident_contain", "only an open incident is contained.")
        incident_record_containment(locked, Containment(action))
        return locked


def incident_resolve(
    *,
    incident: Incident,
    actor: AbstractBaseUser,
    root_cause_kind: str,
    root_cause_summary: str,
    training_run: TrainingRun | None = None,
    dataset_version: DatasetVersion | None = None,
    followup_cases: Iterable[ValidationCase] = (),
    followup_retraining: bool = False,
) -> Incident:
    """The root cause is known and linked; follow-ups are set (new validation cases, a retraining)."""
    errors = {}
    if root_cause_kind not in RootCauseKind.values:
        errors["root_cause_kind"] = "Choose what the root cause was."
    if not root_cause_summary.strip():
        errors["root_cause_summary"] = "Describe the root cause."
    if root_cause_kind == RootCauseKind.TRAINING_RUN and training_run is None:
        errors["root_cause_training_run"] = "Name the training run at the root of it."
    if root_cause_kind == RootCauseKind.DATASET_VERSION and dataset_version is None:
        errors["root_cause_dataset_version"] = "Name the dataset version at the root of it."
    if errors:
        raise ValidationError(errors)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(incident, actor, "registry.change_incident", "incident_resolve")
        if locked.state not in (IncidentState.OPEN, IncidentState.CONTAINED):
            _refuse_state(locked, actor, "incident_resolve", "only an open or contained incident is resolved.")
        locked.root_cause_kind = root_cause_kind
        locked.root_cause_summary = root_cause_summary.strip()
        locked.root_cause_training_run = training_run
        locked.root_cause_dataset_version = dataset_version
        locked.followup_retraining = followup_retraining
        locked.resolve()
        locked.save()
        cases = list(followup_cases)
        if cases:
            locked.followup_cases.set(cases)
        if followup_retraining:
            retraining_trigger_event(
                use_case=locked.use_case,
                trigger=RetrainingTrigger.INCIDENT,
                detail=f"{locked.identifier} {locked.title}",
            )
        return locked


def incident_close(*, incident: Incident, actor: AbstractBaseUser, post_incident_review: str = "") -> Incident:
    """Close a resolved incident; SEV1 and SEV2 need a written post-incident review."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(incident, actor, "registry.close_incident", "incident_close")
        if locked.state != IncidentState.RESOLVED:
            _refuse_state(locked, actor, "incident_close", "only a resolved incident is closed.")
        review = post_incident_review.strip() or locked.post_incident_review
        if locked.severity in REVIEWED_SEVERITIES and len(review) < MIN_REVIEW_CHARS:
            raise ValidationError(
                {
                    "post_incident_review": f"A {locked.get_severity_display()} incident closes only with a "
                    f"post-incident review (at least {MIN_REVIEW_CHARS} characters)."
                }
            )
        locked.post_incident_review = review
        locked.closed_at = timezone.now()
        locked.close()
        locked.save()
        return locked
