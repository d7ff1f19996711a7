"""What runs where: deploying, rolling back to the previous stable version, and the kill switch.

The serving layer reads ``Deployment`` (current version, kill switch); the portal only records and decides.
Promotion into test, staging and prod goes through a change ticket (``registry.services.promotion``); these
services cover development deploys and the on-call actions.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.authz import require
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.models import BreakGlassOverride
from registry.choices import (
    Containment,
    DeploymentEventKind,
    Environment,
    IncidentSeverity,
)
from registry.errors import GateBlocked
from registry.models import ChangeTicket, Deployment, DeploymentEvent, Incident, ModelVersion
from registry.selectors import break_glass_override_covers
from registry.services.incidents import incident_raise_on_call, incident_record_containment
from registry.services.training import model_data_problems


def deployment_event_record(
    deployment: Deployment, kind: DeploymentEventKind, *, actor: AbstractBaseUser, **links: object
) -> DeploymentEvent:
    """The deployment history row, and its ledger entry with every link it carries."""
    event = DeploymentEvent.objects.create(deployment=deployment, kind=kind, actor=actor, **links)
    ledger.append(
        action=LedgerAction.UPDATE,
        obj=deployment,
        payload={
            "deployment_event": {
                "kind": kind.value,
                "model_version": str(event.model_version) if event.model_version_id else None,
                "replaced_version": str(event.replaced_version) if event.replaced_version_id else None,
                "change_ticket": event.change_ticket.identifier if event.change_ticket_id else None,
                "incident": event.incident.identifier if event.incident_id else None,
                "break_glass_override": event.override_id,
                "reason": event.reason,
            }
        },
    )
    return event


def deployment_get_locked(use_case_id: int, environment: str) -> Deployment:
    """The deployment row, created on first use, locked until the transaction ends."""
    deployment, _created = Deployment.objects.get_or_create(use_case_id=use_case_id, environment=environment)
    return Deployment.objects.select_for_update().get(pk=deployment.pk)


def deployment_put_live(
    deployment: Deployment,
    version: ModelVersion,
    *,
    actor: AbstractBaseUser,
    ticket: ChangeTicket | None = None,
    override: BreakGlassOverride | None = None,
    reason: str = "",
) -> DeploymentEvent:
    """Inside a service's transaction, on a locked deployment whose checks have passed."""
    replaced = deployment.current_version
    if replaced is not None and replaced.pk != version.pk:
        deployment.previous_stable_version = replaced
    deployment.current_version = version
    deployment.save()
    return deployment_event_record(
        deployment,
        DeploymentEventKind.DEPLOY,
        model_version=version,
        replaced_version=replaced,
        change_ticket=ticket,
        override=override,
        actor=actor,
        reason=reason[:500],
    )


def deployment_deploy_dev(*, model_version: ModelVersion, actor: AbstractBaseUser) -> DeploymentEvent:
    """Development needs no ticket, but never runs a model trained on data that is not approved."""
    attempted = "deployment_deploy_dev"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.deploy_dev_deployment", attempted=attempted, obj=model_version)
        deployment = deployment_get_locked(model_version.use_case_id, Environment.DEV)
        problems = model_data_problems(model_version)
        if problems:
            raise GateBlocked(problems, actor=actor, attempted=attempted, obj=model_version)
        return deployment_put_live(deployment, model_version, actor=actor, reason="development deploy")


def deployment_rollback(
    *,
    deployment: Deployment,
    actor: AbstractBaseUser,
    reason: str,
    incident: Incident | None = None,
    severity: str = IncidentSeverity.SEV2,
    override: BreakGlassOverride | None = None,
) -> DeploymentEvent:
    """One click for the on-call risk officer: the previous stable version goes back live, linked to an
    incident (the one given, or a new one). A previous version whose data has since lost its approval needs a
    break-glass override."""
    attempted = "deployment_rollback"
    if not reason.strip():
        raise ValidationError({"reason": "Say why you roll back."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = (
            Deployment.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=deployment.pk)
        )
        require(actor, "registry.rollback_deployment", attempted=attempted, obj=locked)
        target = locked.previous_stable_version
        if target is None or locked.current_version is None:
            raise ActionDenied(
                f"{locked} has no previous stable version to roll back to.",
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        problems = model_data_problems(target)
        if problems and not break_glass_override_covers(override, record=locked, gate="rollback"):
            raise GateBlocked(
                [f"Rolling back to {target} needs a break-glass override:", *problems],
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        rolled_back = locked.current_version
        incident = incident_raise_on_call(
            deployment=locked,
            incident=incident,
            actor=actor,
            title=f"Rollback of {rolled_back} in {locked.environment}",
            description=reason.strip(),
            severity=severity,
        )
        incident_record_containment(incident, Containment.ROLLBACK)
        # The new "previous stable" is whatever the restored version itself replaced when it went live.
        restored_from = (
            locked.events.filter(kind=DeploymentEventKind.DEPLOY, model_version=target)
            .exclude(replaced_version=rolled_back)
            .values_list("replaced_version", flat=True)
            .first()
        )
        locked.current_version = target
        locked.previous_stable_version_id = restored_from if restored_from != target.pk else None
        locked.save()
        return deployment_event_record(
            locked,
            DeploymentEventKind.ROLLBACK,
            model_version=target,
            replaced_version=rolled_back,
            incident=incident,
            override=override if problems else None,
            actor=actor,
            reason=reason.strip()[:500],
        )


def deployment_kill_switch(
    *, deployment: Deployment, actor: AbstractBaseUser, engage: bool, reason: str, incident: Incident | None = None
) -> DeploymentEvent:
    """Stop (or resume) serving the deployment's model at once. Engaging it is recorded on an incident."""
    attempted = "deployment_kill_switch"
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        require(actor, "registry.kill_switch_deployment", attempted=attempted, obj=locked)
        if locked.kill_switch_engaged == engage:
            raise ActionDenied(
                f"The kill switch of {locked} is already {'engaged' if engage else 'released'}.",
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        linked = None
        if engage:
            linked = incident_raise_on_call(
                deployment=locked,
                incident=incident,
                actor=actor,
                title=f"Kill switch on {locked}",
                description=reason.strip(),
                severity=IncidentSeverity.SEV1,
            )
            incident_record_containment(linked, Containment.KILL_SWITCH)
        locked.kill_switch_engaged = engage
        locked.kill_switch_reason = reason.strip()[:500] if engage else ""
        locked.save()
        return deployment_event_record(
            locked,
            DeploymentEventKind.KILL_SWITCH_ON if engage else DeploymentEventKind.KILL_SWITCH_OFF,
            model_version=locked.current_version,
            incident=linked,
            actor=actor,
            reason=reason.strip()[:500],
        )
