"""Break glass for the registry: an emergency promotion or rollback past a blocking gate.

The override and the action it allows are one transaction: if the action is still refused (the ticket is not
approved, say), no override is left behind. The override needs a written justification and a second person,
a Risk Officer who signs it with their password (``governance.services.overrides``); the deployment event carries it,
so the deployment page and every evidence pack flag it.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction

from audit.ledger import denials_recorded
from governance.models import BreakGlassOverride
from governance.services.overrides import break_glass_override
from registry.models import ChangeTicket, Deployment, DeploymentEvent
from registry.services.deployments import deployment_rollback
from registry.services.promotion import change_ticket_deploy


def _override(
    *,
    record: models.Model,
    gate: str,
    actor: AbstractBaseUser,
    justification: str,
    approver_username: str,
    approver_password: str,
) -> BreakGlassOverride:
    approver = get_user_model().objects.filter(username=approver_username.strip(), is_active=True).first()
    if approver is None:
        raise ValidationError({"approver": "Name the second person: the username of an active Risk Officer."})
    try:
        return break_glass_override(
            record=record,
            gate=gate,
            justification=justification,
            requested_by=actor,
            approver=approver,
            approver_password=approver_password,
        )
    except ValueError as error:
        raise ValidationError({"justification": str(error)}) from None


def change_ticket_deploy_break_glass(
    *, ticket: ChangeTicket, actor: AbstractBaseUser, justification: str, approver_username: str, approver_password: str
) -> ChangeTicket:
    """Deploy an approved ticket although the environment's conditions do not all hold, on a second person's
    signed override of the "promotion" gate."""
    with denials_recorded(), transaction.atomic():
        override = _override(
            record=ticket,
            gate="promotion",
            actor=actor,
            justification=justification,
            approver_username=approver_username,
            approver_password=approver_password,
        )
        return change_ticket_deploy(ticket=ticket, actor=actor, override=override)


def deployment_rollback_break_glass(
    *,
    deployment: Deployment,
    actor: AbstractBaseUser,
    reason: str,
    justification: str,
    approver_username: str,
    approver_password: str,
) -> DeploymentEvent:
    """Roll back onto a previous version whose data has lost its approval, on a second person's signed
    override of the "rollback" gate."""
    with denials_recorded(), transaction.atomic():
        override = _override(
            record=deployment,
            gate="rollback",
            actor=actor,
            justification=justification,
            approver_username=approver_username,
            approver_password=approver_password,
        )
        return deployment_rollback(deployment=deployment, actor=actor, reason=reason, override=override)
