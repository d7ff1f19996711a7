"""The registry's landing panels and record finders (registered in ``RegistryConfig.ready``): the live model
versions per use case with their governance status, for auditors; the promotion tickets an engineer requested and
where each waits; and ``support-assistant:7``, ``CT-12`` and ``INC-5`` in the search box."""

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef
from django.urls import reverse

from accounts.choices import Role
from governance.landing import TABLE_PANEL, Cell, FoundRecord, LandingPanel, register_finder, register_panel, table
from registry.choices import ChangeTicketState, Environment, GateOutcome
from registry.models import ChangeTicket, Deployment, GateDecision, Incident, ModelVersion
from registry.selectors import latest_gate_decisions, model_versions_on_unapproved_data

TICKETS_SHOWN = 8
_TICKET = re.compile(r"^\s*CT-?(\d{1,18})\s*$", re.IGNORECASE)
_INCIDENT = re.compile(r"^\s*INC-?(\d{1,18})\s*$", re.IGNORECASE)


def _governance_status(deployment: Deployment, gate: GateDecision | None, ticket: ChangeTicket | None) -> Cell:
    """What an auditor asks of a live version first: is it still governed as it was promoted?"""
    problems = []
    if deployment.kill_switch_engaged:
        problems.append("kill switch engaged")
    if deployment.data_unapproved:
        problems.append("trained on data no longer approved")
    if gate is None:
        problems.append("no gate decision")
    elif gate.outcome == GateOutcome.FAIL:
        problems.append("gate failed")
    if ticket is None:
        problems.append("no deploying change ticket")
    if problems:
        return Cell("; ".join(problems).capitalize(), status="warning")
    return Cell(f"Gate {gate.get_outcome_display()}, {ticket.identifier} deployed", status="success")


def _live_versions(user: AbstractBaseUser) -> dict[str, Any]:
    """Production deployments with their current version, latest gate and deploying ticket: three queries."""
    deployments = list(
        Deployment.objects.filter(environment=Environment.PROD, current_version__isnull=False)
        .select_related("use_case", "current_version")
        .annotate(data_unapproved=Exists(model_versions_on_unapproved_data().filter(pk=OuterRef("current_version"))))
        .order_by("use_case__name")
    )
    version_ids = [deployment.current_version_id for deployment in deployments]
    gates = latest_gate_decisions(version_ids)
    tickets: dict[int, ChangeTicket] = {}
    deployed = ChangeTicket.objects.filter(
        model_version_id__in=version_ids, environment=Environment.PROD, state=ChangeTicketState.DEPLOYED
    )
    for ticket in deployed.order_by("deployed_at", "id"):
        tickets[ticket.model_version_id] = ticket
    rows = [
        [
            Cell(str(deployment.use_case), reverse("admin:registry_deployment_change", args=[deployment.pk])),
            Cell(
                deployment.current_version.identifier,
                reverse("admin:registry_modelversion_change", args=[deployment.current_version_id]),
            ),
            _governance_status(
                deployment, gates.get(deployment.current_version_id), tickets.get(deployment.current_version_id)
            ),
        ]
        for deployment in deployments
    ]
    return table(
        ["Use case", "Live in production", "Governance status"],
        rows,
        empty="No model version is live in production.",
        more_url=reverse("admin:registry_deployment_changelist"),
        more_label="Every deployment",
    )


def _tickets_requested(user: AbstractBaseUser) -> dict[str, Any]:
    tickets = (
        ChangeTicket.objects.filter(requested_by=user)
        .select_related("model_version")
        .order_by("-requested_at", "-pk")[:TICKETS_SHOWN]
    )
    rows = []
    for ticket in tickets:
        if ticket.state == ChangeTicketState.SUBMITTED:
            where = f"Waits for the signatures of {', '.join(ticket.required_roles) or 'its approvers'}"
        elif ticket.state == ChangeTicketState.DRAFT:
            where = "Draft: yours to submit"
        elif ticket.state == ChangeTicketState.APPROVED:
            where = "Approved: ready to deploy"
        else:
            where = ticket.get_state_display()
        rows.append([Cell(str(ticket), reverse("admin:registry_changeticket_change", args=[ticket.pk])), Cell(where)])
    return table(["Change ticket", "Where it is"], rows, empty="You have requested no promotion.")


def _find_model_version(term: str) -> FoundRecord | None:
    named = ModelVersion.objects.filter_identifier(term)
    version = named.first() if named is not None else None
    if version is None:
        return None
    return FoundRecord(
        f"Model version {version.identifier}", reverse("admin:registry_modelversion_change", args=[version.pk])
    )


def _find_ticket(term: str) -> FoundRecord | None:
    match = _TICKET.match(term)
    ticket = ChangeTicket.objects.select_related("model_version").filter(pk=match[1]).first() if match else None
    if ticket is None:
        return None
    return FoundRecord(f"Change ticket {ticket}", reverse("admin:registry_changeticket_change", args=[ticket.pk]))


def _find_incident(term: str) -> FoundRecord | None:
    match = _INCIDENT.match(term)
    incident = Incident.objects.filter(pk=match[1]).first() if match else None
    if incident is None:
        return None
    return FoundRecord(f"Incident {incident}", reverse("admin:registry_incident_change", args=[incident.pk]))


def register() -> None:
    register_panel(
        LandingPanel(
            key="registry.live_versions",
            title="Live model versions",
            roles=frozenset({Role.AUDITOR, Role.RISK_OFFICER}),
            template=TABLE_PANEL,
            context=_live_versions,
            order=10,
        )
    )
    register_panel(
        LandingPanel(
            key="registry.tickets_requested",
            title="Promotions you requested",
            roles=frozenset({Role.ML_ENGINEER}),
            template=TABLE_PANEL,
            context=_tickets_requested,
            order=55,
        )
    )
    register_finder("registry.model_version", _find_model_version)
    register_finder("registry.change_ticket", _find_ticket)
    register_finder("registry.incident", _find_incident)
