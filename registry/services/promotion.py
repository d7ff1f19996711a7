"""Promotion through change tickets: dev -> test -> staging -> prod.

Who must sign a ticket comes from the use case's RACI for the approval & promotion stage: the Accountable
function for test and staging; every Accountable and Responsible function for prod. The requester never
signs, and nobody signs for two functions on one ticket. ``promotion_problems`` is the one list of conditions
an environment sets; submission, deployment and ``manage.py gate_check`` all ask it, and deployment asks it
again at the moment of going live.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import approval_permission_holders, holds_approval_permission, require, role_holders, roles_of
from accounts.choices import Role
from accounts.models import Delegation
from accounts.services.delegations import current_delegations, standing_in_for
from accounts.services.signatures import signature_sign
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from audit.models import Signature
from audit.signatures import signatures_for
from audit.state_replay import describe, latest_state_replay, state_differences_for
from governance.choices import LifecycleStage, RaciLetter
from governance.models import BreakGlassOverride, UseCase
from governance.services.raci import raci_roles
from governance.services.thresholds import effective_thresholds
from registry.choices import (
    ENVIRONMENT_ORDER,
    ChangeRisk,
    ChangeTicketState,
    DeploymentEventKind,
    Environment,
    GateOutcome,
    HumanReviewDecision,
)
from registry.errors import GateBlocked
from registry.models import ChangeTicket, Deployment, DeploymentEvent, GateDecision, ModelVersion
from registry.selectors import break_glass_override_covers, latest_gate_decision, model_version_evidence
from registry.services.completeness import completeness_problems
from registry.services.deployments import deployment_get_locked, deployment_put_live
from registry.services.provenance import blocking_flags
from registry.services.training import model_data_problems

#: Held through a role: signing change tickets.
APPROVE_PERMISSION = "registry.approve_changeticket"
OPEN_STATES = (ChangeTicketState.DRAFT, ChangeTicketState.SUBMITTED, ChangeTicketState.APPROVED)
GATED_ENVIRONMENTS = (Environment.STAGING, Environment.PROD)


def required_roles(use_case: UseCase, environment: str) -> list[str]:
    """The functions that must sign a ticket into ``environment``, in the order of the role list."""
    letters = (
        [RaciLetter.ACCOUNTABLE]
        if environment != Environment.PROD
        else [RaciLetter.ACCOUNTABLE, RaciLetter.RESPONSIBLE]
    )
    wanted = {role for letter in letters for role in raci_roles(use_case, LifecycleStage.APPROVAL, letter)}
    return [role.value for role in Role if role in wanted]


def approval_meaning(environment: str, role: str) -> str:
    return f"Approved promotion to {Environment(environment).label} as {role}"


def ticket_approvals(ticket: ChangeTicket) -> dict[str, Signature]:
    """Required function -> the signature for it that still holds on the ticket's current content."""
    meanings = {approval_meaning(ticket.environment, role): role for role in ticket.required_roles}
    approvals: dict[str, Signature] = {}
    for signature, valid in signatures_for(ticket):
        role = meanings.get(signature.meaning)
        if valid and role and role not in approvals:
            approvals[role] = signature
    return approvals


def valid_approvals(ticket: ChangeTicket) -> dict[str, AbstractBaseUser]:
    """Required function -> the person whose signature for it still holds on the ticket's current content."""
    return {role: signature.signer for role, signature in ticket_approvals(ticket).items()}


def _signed_by(signed: dict[str, Signature]) -> set[int]:
    """Everyone who has signed the ticket for a function: the signers, and those on whose behalf they signed."""
    return {pk for signature in signed.values() for pk in (signature.signer_id, signature.on_behalf_of_id) if pk}


def _gate_problems(model_version: ModelVersion, gate: GateDecision | None) -> list[str]:
    if gate is None:
        return [f"{model_version} has no gate decision; run the validation suite and evaluate the gate."]
    problems = []
    if gate.outcome == GateOutcome.FAIL:
        failing = [figures["label"] for figures in gate.figures.values() if figures.get("outcome") == GateOutcome.FAIL]
        problems.append(f"The gate of {model_version} is FAIL ({', '.join(failing)}).")
    elif gate.outcome == GateOutcome.BORDERLINE:
        if gate.human_decision != HumanReviewDecision.ACCEPTED:
            problems.append(f"The gate of {model_version} is BORDERLINE and has no accepted, signed human review.")
        elif not any(valid for _signature, valid in signatures_for(gate)):
            problems.append(f"The human review of the gate of {model_version} no longer holds a valid signature.")
    in_effect = effective_thresholds(model_version.use_case)
    if in_effect is None or in_effect.pk != gate.threshold_policy_id:
        problems.append(
            f"The gate of {model_version} used threshold revision {gate.threshold_policy.revision}, which is no "
            "longer in effect; evaluate the gate again."
        )
    return problems


def _card_problems(model_version: ModelVersion) -> list[str]:
    card = model_version.cards.order_by("-revision").first()
    if card is None:
        return [f"{model_version} has no model card."]
    missing = card.missing_sections()
    return [f"The model card of {model_version} is incomplete: {', '.join(missing)}."] if missing else []


def _order_problems(model_version: ModelVersion, environment: str) -> list[str]:
    previous = ENVIRONMENT_ORDER[ENVIRONMENT_ORDER.index(Environment(environment)) - 1]
    reached = DeploymentEvent.objects.filter(
        deployment__use_case_id=model_version.use_case_id,
        deployment__environment=previous,
        kind=DeploymentEventKind.DEPLOY,
        model_version=model_version,
    ).exists()
    return [] if reached else [f"{model_version} has not been deployed to {previous.label} first."]


def _ticket_problems(ticket: ChangeTicket | None, environment: str) -> list[str]:
    if ticket is None:
        return [f"There is no approved change ticket for {Environment(environment).label}."]
    if ticket.state != ChangeTicketState.APPROVED:
        return [f"{ticket.identifier} is {ticket.get_state_display().lower()}, not approved."]
    approvals = valid_approvals(ticket)
    problems = [
        f"{ticket.identifier} lacks a valid signature of the {role}."
        for role in ticket.required_roles
        if role not in approvals
    ]
    if any(signer.pk == ticket.requested_by_id for signer in approvals.values()):
        problems.append(f"{ticket.identifier} was signed by its own requester.")
    return problems


#: Differences named one by one in the gate's answer; the rest are counted.
SHOWN_DIFFERENCES = 10


def _ledger_state_problems(model_version: ModelVersion) -> list[str]:
    """Evidence changed around the services (found by the latest ledger replay, ``verify_ledger --state``) is not
    evidence: while a record the version's promotion rests on differs from what the ledger recorded of it, the
    version goes nowhere. One query when the latest replay found nothing."""
    replay = latest_state_replay()
    if replay is None or not replay.state_differences:
        return []
    differences = state_differences_for(model_version_evidence(model_version), verification=replay)
    if not differences:
        return []
    when = f"{replay.started_at:%Y-%m-%d %H:%M} UTC"
    problems = [
        f"Evidence of {model_version} differs from the audit ledger (verification of {when}): {describe(difference)}."
        for difference in differences[:SHOWN_DIFFERENCES]
    ]
    if len(differences) > SHOWN_DIFFERENCES:
        problems.append(f"... and {len(differences) - SHOWN_DIFFERENCES} more differences in its evidence.")
    return problems


def promotion_problems(
    model_version: ModelVersion, environment: str, *, ticket: ChangeTicket | None = None, check_ticket: bool = True
) -> list[str]:
    """Every reason ``model_version`` may not go live in ``environment`` now (empty: it may)."""
    if environment not in Environment.values:
        return [f"Unknown environment {environment!r}."]
    problems = model_data_problems(model_version) + _ledger_state_problems(model_version)
    if environment != Environment.DEV:
        problems += _order_problems(model_version, environment)
    if environment in GATED_ENVIRONMENTS:
        gate = latest_gate_decision(model_version)
        problems += _gate_problems(model_version, gate)
        if ticket is not None and gate is not None and ticket.gate_decision_id != gate.pk:
            problems.append(
                f"The gate of {model_version} was evaluated again after {ticket.identifier} was raised; the approvers "
                "signed another decision, so raise a new ticket."
            )
    if environment != Environment.DEV:
        problems += completeness_problems(model_version, environment)
    if environment == Environment.PROD:
        problems += _card_problems(model_version)
        problems += [
            f"Provenance flag unresolved (high): {flag.summary} Resolve it on the flag's page first."
            for flag in blocking_flags(model_version)
        ]
    if environment != Environment.DEV and check_ticket:
        problems += _ticket_problems(ticket, environment)
    deployment = Deployment.objects.filter(use_case_id=model_version.use_case_id, environment=environment).first()
    if deployment is not None and deployment.kill_switch_engaged:
        problems.append(f"The kill switch of {deployment} is engaged; release it before deploying.")
    return problems


def promotion_check(model_version: ModelVersion, environment: str) -> tuple[list[str], ChangeTicket | None]:
    """The CI/CD gate (``manage.py gate_check`` and the API ask it): every reason the version may not go live in
    the environment now, judged with its latest approved ticket there, and that ticket."""
    ticket = (
        ChangeTicket.objects.filter(
            model_version=model_version, environment=environment, state=ChangeTicketState.APPROVED
        )
        .order_by("-requested_at", "-pk")
        .first()
    )
    return promotion_problems(model_version, environment, ticket=ticket), ticket


def change_ticket_create(
    *,
    model_version: ModelVersion,
    environment: str,
    actor: AbstractBaseUser,
    risk_level: str,
    risk_assessment: str,
    rollback_plan: str,
    external_reference: str = "",
) -> ChangeTicket:
    """A draft request to promote ``model_version`` into ``environment``, with its latest gate decision."""
    errors = {}
    if environment not in Environment.values or environment == Environment.DEV:
        errors["environment"] = "Promote into test, staging or prod (development needs no ticket)."
    if risk_level not in ChangeRisk.values:
        errors["risk_level"] = "Choose the change risk."
    if not risk_assessment.strip():
        errors["risk_assessment"] = "Assess the risk of the change."
    if not rollback_plan.strip():
        errors["rollback_plan"] = "Say how the change is rolled back."
    if errors:
        raise ValidationError(errors)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        require(actor, "registry.add_changeticket", attempted="change_ticket_create", obj=locked)
        open_ticket = ChangeTicket.objects.filter(
            model_version=locked, environment=environment, state__in=OPEN_STATES
        ).first()
        if open_ticket is not None:
            raise ValidationError(
                {"environment": f"{open_ticket.identifier} already requests this promotion; finish or cancel it first."}
            )
        ticket = ChangeTicket(
            model_version=locked,
            environment=environment,
            external_reference=external_reference.strip(),
            risk_level=risk_level,
            risk_assessment=risk_assessment.strip(),
            rollback_plan=rollback_plan.strip(),
            gate_decision=latest_gate_decision(locked),
            requested_by=actor,
        )
        ticket.full_clean()
        ticket.save()
        return ticket


#: What the requester alone may do with a ticket, and what anybody else is told.
REQUESTER_ONLY = {
    "change_ticket_submit": "Only the requester submits a change ticket.",
    "change_ticket_cancel": "Only the requester cancels a change ticket.",
}


def change_ticket_requester_refusal(ticket: ChangeTicket, actor: AbstractBaseUser, attempted: str) -> str | None:
    """Why ``actor`` may not ``attempted`` (submit or cancel) the ticket because it is not theirs; None if it is.
    The services refuse with it, and the admin asks it before offering the form."""
    return None if actor.pk == ticket.requested_by_id else REQUESTER_ONLY[attempted]


def _locked_ticket(ticket: ChangeTicket) -> ChangeTicket:
    return ChangeTicket.objects.select_for_update(of=("self",)).select_related("model_version").get(pk=ticket.pk)


def change_ticket_submit(*, ticket: ChangeTicket, actor: AbstractBaseUser) -> ChangeTicket:
    """The requester sends the ticket for signatures; refused, with every reason, while the version could not
    go live anyway (so approvers never sign a promotion that is bound to fail)."""
    attempted = "change_ticket_submit"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_ticket(ticket)
        refusal = change_ticket_requester_refusal(locked, actor, attempted)
        if refusal:
            raise ActionDenied(refusal, actor=actor, attempted=attempted, obj=locked)
        if locked.state != ChangeTicketState.DRAFT:
            raise ActionDenied(
                f"{locked.identifier} is {locked.get_state_display().lower()}, not a draft.",
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        roles = required_roles(locked.model_version.use_case, locked.environment)
        problems = promotion_problems(locked.model_version, locked.environment, ticket=locked, check_ticket=False)
        if not roles:
            problems.append(
                "The use case has no effective RACI naming who approves promotions; a risk officer must set one."
            )
        if problems:
            raise GateBlocked(problems, actor=actor, attempted=attempted, obj=locked)
        locked.required_roles = roles
        locked.submitted_at = timezone.now()
        locked.submit()
        locked.save()
        return locked


def signing_capacity(
    ticket: ChangeTicket,
    approver: AbstractBaseUser,
    *,
    signed: dict[str, Signature] | None = None,
    delegations: Sequence[Delegation] | None = None,
    held: set[str] | None = None,
) -> tuple[str, AbstractBaseUser | None] | None:
    """The required function ``approver`` would sign for next, and on whose behalf (None: in their own right); None
    if no function of theirs is still open. A function the away person they stand in for could sign comes first.
    ``signed``: ``ticket_approvals(ticket)``, ``delegations``: ``current_delegations(approver)`` and ``held``: the
    approver's roles, when the caller has read them already."""
    signed = ticket_approvals(ticket) if signed is None else signed
    open_roles = [role for role in ticket.required_roles if role not in signed]
    signers = _signed_by(signed)

    def could_sign(person: AbstractBaseUser, role: str) -> bool:  # the delegation's role is one the delegator holds
        return (
            person.pk != ticket.requested_by_id
            and person.pk not in signers
            and holds_approval_permission(person, APPROVE_PERMISSION)
        )

    delegation = standing_in_for(approver, open_roles, could_sign, delegations=delegations)
    if delegation is not None:
        return delegation.role, delegation.delegator
    held = roles_of(approver) if held is None else held
    role = next((role for role in open_roles if role in held), None)
    return None if role is None else (role, None)


def change_ticket_approve_refusal(
    ticket: ChangeTicket,
    approver: AbstractBaseUser,
    *,
    signed: dict[str, Signature] | None = None,
    delegations: Sequence[Delegation] | None = None,
    held: set[str] | None = None,
) -> str | None:
    """Why ``approver`` may not sign the ticket now (None: they may). ``change_ticket_approve`` refuses with it,
    and the signing page asks it before offering the form. The keyword arguments as for ``signing_capacity``."""
    if ticket.state != ChangeTicketState.SUBMITTED:
        return f"{ticket.identifier} is {ticket.get_state_display().lower()}, not awaiting approval."
    if approver.pk == ticket.requested_by_id:
        return "The requester of a change ticket cannot approve it."
    if not holds_approval_permission(approver, APPROVE_PERMISSION):
        return "Your roles do not allow signing change tickets."
    signed = ticket_approvals(ticket) if signed is None else signed
    if any(signature.signer_id == approver.pk for signature in signed.values()):
        return "You already signed this ticket; each required function needs a different person."
    if any(signature.on_behalf_of_id == approver.pk for signature in signed.values()):
        return "Your delegate signed this ticket on your behalf; each required function needs a different person."
    if signing_capacity(ticket, approver, signed=signed, delegations=delegations, held=held) is None:
        return f"{ticket.identifier} needs no further signature from your functions."
    return None


def change_ticket_approvers(
    ticket: ChangeTicket, *, signed: dict[str, Signature] | None = None
) -> list[AbstractBaseUser]:
    """The people who may sign the ticket now: holders of a required function nobody has signed for yet who may
    sign change tickets, other than its requester and those who signed it already (or had it signed for them)."""
    if ticket.state != ChangeTicketState.SUBMITTED:
        return []
    signed = ticket_approvals(ticket) if signed is None else signed
    open_roles = [role for role in ticket.required_roles if role not in signed]
    permitted = approval_permission_holders(APPROVE_PERMISSION).values("pk")
    excluded = [ticket.requested_by_id, *_signed_by(signed)]
    return list(role_holders(open_roles).filter(pk__in=permitted).exclude(pk__in=excluded))


def change_ticket_approve(
    *, ticket: ChangeTicket, approver: AbstractBaseUser, password: str, username: str | None = None
) -> ChangeTicket:
    """One required approver signs for their function (on behalf of the away colleague they stand in for, when
    that colleague could sign it); with the last signature the ticket is approved."""
    attempted = "change_ticket_approve"
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = _locked_ticket(ticket)
        signed = ticket_approvals(locked)
        delegations = current_delegations(approver)
        problem = change_ticket_approve_refusal(locked, approver, signed=signed, delegations=delegations)
        if problem:
            raise ActionDenied(problem, actor=approver, attempted=attempted, obj=locked)
        role, on_behalf_of = signing_capacity(locked, approver, signed=signed, delegations=delegations)
        signature_sign(
            record=locked,
            signer=approver,
            password=password,
            username=username,
            meaning=approval_meaning(locked.environment, role),
            on_behalf_of=on_behalf_of,
        )
        if set(locked.required_roles) <= set(valid_approvals(locked)):
            locked.approve()
            locked.decided_at = timezone.now()
            locked.save()
        return locked


def change_ticket_reject(*, ticket: ChangeTicket, approver: AbstractBaseUser, reason: str) -> ChangeTicket:
    if not reason.strip():
        raise ValidationError({"reason": "Say why, so the requester knows what to change."})
    attempted = "change_ticket_reject"
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = _locked_ticket(ticket)
        if (
            locked.state != ChangeTicketState.SUBMITTED
            or approver.pk == locked.requested_by_id
            or not holds_approval_permission(approver, APPROVE_PERMISSION)
            or not set(locked.required_roles) & roles_of(approver)
        ):
            raise ActionDenied(
                "Only a required approver (not the requester) can reject a ticket awaiting approval.",
                actor=approver,
                attempted=attempted,
                obj=locked,
            )
        locked.reject()
        locked.closing_note = reason.strip()
        locked.decided_at = timezone.now()
        locked.save()
        return locked


def change_ticket_cancel(*, ticket: ChangeTicket, actor: AbstractBaseUser, reason: str) -> ChangeTicket:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the change is withdrawn."})
    attempted = "change_ticket_cancel"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_ticket(ticket)
        refusal = change_ticket_requester_refusal(locked, actor, attempted)
        if refusal:
            raise ActionDenied(refusal, actor=actor, attempted=attempted, obj=locked)
        if locked.state not in OPEN_STATES:
            raise ActionDenied(
                f"{locked.identifier} is {locked.get_state_display().lower()}.",
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        locked.cancel()
        locked.closing_note = reason.strip()
        locked.save()
        return locked


def change_ticket_deploy(
    *, ticket: ChangeTicket, actor: AbstractBaseUser, override: BreakGlassOverride | None = None
) -> ChangeTicket:
    """Put the ticket's version live, after checking every condition of the environment once more, now.

    A break-glass override of the gate "promotion" for this ticket lets an emergency change through despite
    the problems; the deployment event carries it, so every evidence pack flags it.
    """
    attempted = "change_ticket_deploy"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_ticket(ticket)
        require(actor, "registry.change_changeticket", attempted=attempted, obj=locked)
        deployment = deployment_get_locked(locked.model_version.use_case_id, locked.environment)
        problems = promotion_problems(locked.model_version, locked.environment, ticket=locked)
        used_override = None
        if problems:
            covered = break_glass_override_covers(override, record=locked, gate="promotion")
            if locked.state != ChangeTicketState.APPROVED or not covered:
                raise GateBlocked(problems, actor=actor, attempted=attempted, obj=locked)
            used_override = override
        deployment_put_live(deployment, locked.model_version, actor=actor, ticket=locked, override=used_override)
        locked.deploy()
        locked.deployed_at = timezone.now()
        locked.save()
        return locked
