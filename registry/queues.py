"""The registry's work queues on people's landing pages (registered in ``RegistryConfig.ready``)."""

from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef
from django.urls import reverse

from accounts.authz import holds_approval_permission, roles_of
from accounts.choices import Role
from accounts.services.delegations import current_delegations
from governance.worklist import INTERNAL_TIER_URGENCY, WorkItem, WorkQueue, register_queue
from registry.choices import ChangeTicketState, GateOutcome, IncidentState
from registry.models import ChangeTicket, GateDecision, Incident
from registry.roles import ROLE_GRANTS, TICKET_APPROVAL
from registry.services.gates import gate_review_on_behalf_of
from registry.services.promotion import change_ticket_approve_refusal, signing_capacity, ticket_approvals

SIGN = "registry.approve_changeticket"

#: The roles whose group may sign change tickets (each signs for the RACI functions it holds).
TICKET_SIGNERS = frozenset(
    role for role, grants in ROLE_GRANTS.items() if TICKET_APPROVAL in grants.get(ChangeTicket, ())
)
INCIDENT_DESKS = frozenset({Role.RISK_OFFICER, Role.SECURITY_REVIEWER})
UNFINISHED_INCIDENTS = (IncidentState.DRAFT, IncidentState.OPEN, IncidentState.CONTAINED, IncidentState.RESOLVED)


def _behalf(person: AbstractBaseUser | None) -> str:
    return f" on behalf of {person.get_full_name() or person.get_username()}" if person else ""


def _tickets_to_sign(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Submitted tickets needing a function the user holds, not yet signed for, that they did not request and
    have not signed already; those the away colleague they stand in for would sign say on whose behalf."""
    tickets = (
        ChangeTicket.objects.filter(state=ChangeTicketState.SUBMITTED)
        .exclude(requested_by=user)
        .select_related("model_version__use_case")
        .order_by("submitted_at", "pk")
    )
    held: set[str] | None = None
    for ticket in tickets:
        if held is None:  # asked only when something is waiting at all
            held = roles_of(user) if holds_approval_permission(user, SIGN) else set()
            delegations = current_delegations(user) if held else []
        if not held & set(ticket.required_roles):
            continue
        signed = ticket_approvals(ticket)
        if change_ticket_approve_refusal(ticket, user, signed=signed, delegations=delegations, held=held):
            continue
        role, on_behalf_of = signing_capacity(ticket, user, signed=signed, delegations=delegations, held=held)
        yield WorkItem(
            label=f"{ticket} (sign as {role}{_behalf(on_behalf_of)})",
            url=reverse("admin:registry_changeticket_change", args=[ticket.pk]),
            waiting_since=ticket.submitted_at,
            risk_tier=INTERNAL_TIER_URGENCY.get(ticket.model_version.use_case.internal_risk_tier, "medium"),
        )


def _borderline_gates(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Undecided BORDERLINE gates that are still their model version's latest, and that the user may review
    (not on a model version or run they registered); those decided for an away colleague say on whose behalf."""
    later = GateDecision.objects.filter(model_version=OuterRef("model_version"), decided_at__gt=OuterRef("decided_at"))
    gates = (
        GateDecision.objects.filter(outcome=GateOutcome.BORDERLINE, human_decision="")
        .exclude(Exists(later))
        .exclude(model_version__registered_by=user)
        .exclude(model_version__training_run__registered_by=user)
        .select_related("model_version__training_run")
        .order_by("decided_at", "pk")
    )
    delegations = None
    for gate in gates:
        delegations = current_delegations(user) if delegations is None else delegations
        on_behalf_of = gate_review_on_behalf_of(gate, user, delegations=delegations)
        yield WorkItem(
            label=f"{gate}{_behalf(on_behalf_of)}",
            url=reverse("admin:registry_gatedecision_change", args=[gate.pk]),
            waiting_since=gate.decided_at,
        )


def _open_incidents(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Every incident not yet closed or dismissed, the most severe first."""
    incidents = Incident.objects.filter(state__in=UNFINISHED_INCIDENTS).order_by("severity", "detected_at", "pk")
    for incident in incidents:
        yield WorkItem(
            label=f"{incident} ({incident.get_state_display()})",
            url=reverse("admin:registry_incident_change", args=[incident.pk]),
            waiting_since=incident.detected_at,
            risk_tier="",  # an incident is not a review: its severity orders the queue
        )


def register() -> None:
    register_queue(
        WorkQueue(
            key="registry.ticket_signatures",
            title="Change tickets waiting for my signature",
            roles=TICKET_SIGNERS,
            items=_tickets_to_sign,
        )
    )
    register_queue(
        WorkQueue(
            key="registry.borderline_gates",
            title="Borderline gates awaiting human review",
            roles=frozenset({Role.RISK_OFFICER}),
            items=_borderline_gates,
        )
    )
    register_queue(
        WorkQueue(
            key="registry.open_incidents",
            title="Open incidents",
            roles=INCIDENT_DESKS,
            items=_open_incidents,
        )
    )
