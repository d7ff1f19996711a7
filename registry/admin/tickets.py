"""Change tickets: the page an approver signs from (who must sign, who has, what still stands in the way), and
the requester's submit / cancel and the deploy button. Every button calls one promotion service."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import may, refuse
from accounts.admin.discussion import comment_view, discussion_context
from accounts.admin.signing import reason_view, signing_view
from accounts.authz import printed_names, roles_of
from accounts.services.delegations import current_delegations
from registry.admin.base import RegistryAdmin
from registry.admin.pages import BreakGlassForm, approver_reauthentication_counted, change_url, form_page, post_action
from registry.choices import ChangeTicketState
from registry.models import ChangeTicket
from registry.services.emergency import change_ticket_deploy_break_glass
from registry.services.promotion import (
    APPROVE_PERMISSION,
    OPEN_STATES,
    approval_meaning,
    change_ticket_approve,
    change_ticket_approve_refusal,
    change_ticket_approvers,
    change_ticket_cancel,
    change_ticket_deploy,
    change_ticket_reject,
    change_ticket_requester_refusal,
    change_ticket_submit,
    promotion_problems,
    signing_capacity,
    ticket_approvals,
)

SIGN = APPROVE_PERMISSION
DEPLOY = "registry.change_changeticket"


@admin.register(ChangeTicket)
class ChangeTicketAdmin(RegistryAdmin):
    list_display = (
        "identifier",
        "model_version",
        "environment",
        "state",
        "risk_level",
        "external_ticket",
        "requested_by",
        "requested_at",
    )
    list_filter = ("state", "environment", "risk_level")
    list_select_related = ("model_version", "requested_by")
    search_fields = ("external_reference", "model_version__name")
    fields = (
        "model_version",
        "environment",
        "state",
        "external_ticket",
        "risk_level",
        "risk_assessment",
        "rollback_plan",
        "requested_by",
        "requested_at",
        "submitted_at",
        "decided_at",
        "deployed_at",
        "closing_note",
    )
    readonly_fields = ("external_ticket",)
    change_form_template = "admin/registry/changeticket_change_form.html"

    @admin.display(description=_("ticket"), ordering="pk")
    def identifier(self, ticket: ChangeTicket) -> str:
        return ticket.identifier

    @admin.display(description=_("external ticket"), ordering="external_reference")
    def external_ticket(self, ticket: ChangeTicket) -> str:
        """The reference, as a link into the ticketing tool when its base URL is configured."""
        if not (url := ticket.external_url):
            return ticket.external_reference or "-"
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', url, ticket.external_reference
        )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("model_version__use_case", "requested_by")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        queryset = self.get_queryset(request).select_related(
            "model_version__training_run", "gate_decision__threshold_policy", "gate_decision__suite"
        )
        try:
            return queryset.get(pk=int(object_id))
        except (ChangeTicket.DoesNotExist, ValidationError, ValueError):
            return None

    def get_urls(self) -> list[URLPattern]:
        name = "registry_changeticket"
        views = [
            ("approve", self.approve_view),
            ("reject", self.reject_view),
            ("submit", self.submit_view),
            ("cancel", self.cancel_view),
            ("deploy", self.deploy_view),
            ("deploy-break-glass", self.deploy_break_glass_view),
            ("comment", self.comment_view),
        ]
        return [
            *(
                path(f"<int:pk>/{route}/", self.admin_site.admin_view(view), name=f"{name}_{route.replace('-', '_')}")
                for route, view in views
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context.update(with_break_glass(ticket_context(request, obj)))
            comment_url = reverse("admin:registry_changeticket_comment", args=[obj.pk])
            context.update(discussion_context(request, obj, comment_url))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def comment_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        return comment_view(request, admin_site=self.admin_site, record=ticket, back_url=change_url(ticket))

    def _ticket(self, pk: int) -> ChangeTicket:
        return get_object_or_404(ChangeTicket.objects.select_related("model_version", "requested_by"), pk=pk)

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        signed = ticket_approvals(ticket)
        delegations = current_delegations(request.user)
        refusal = change_ticket_approve_refusal(ticket, request.user, signed=signed, delegations=delegations)
        role, on_behalf_of = (
            (None, None) if refusal else signing_capacity(ticket, request.user, signed=signed, delegations=delegations)
        )
        meaning = approval_meaning(ticket.environment, role) if role else f"Approved promotion of {ticket}"
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=ticket,
            meaning=meaning,
            title=f"Sign {ticket.identifier}",
            perform=lambda credentials: change_ticket_approve(ticket=ticket, approver=request.user, **credentials),
            success_url=change_url(ticket),
            success_message=f"You signed {ticket.identifier}.",
            cancel_url=change_url(ticket),
            summary_template="admin/registry/ticket_summary.html",
            refusal=refusal,
            who_can=printed_names(change_ticket_approvers(ticket, signed=signed)),
            on_behalf_of=on_behalf_of,
        )

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        if not may(request, SIGN):
            refuse(request, attempted="change_ticket_reject", obj=ticket)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=ticket,
            title=f"Reject {ticket.identifier}",
            submit_label="Reject",
            perform=lambda reason: change_ticket_reject(ticket=ticket, approver=request.user, reason=reason),
            success_url=change_url(ticket),
            success_message=f"{ticket.identifier} rejected.",
        )

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        refusal = change_ticket_requester_refusal(ticket, request.user, "change_ticket_cancel")
        if refusal:
            refuse(request, attempted="change_ticket_cancel", obj=ticket, reason=refusal)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=ticket,
            title=f"Cancel {ticket.identifier}",
            submit_label="Cancel the ticket",
            perform=lambda reason: change_ticket_cancel(ticket=ticket, actor=request.user, reason=reason),
            success_url=change_url(ticket),
            success_message=f"{ticket.identifier} cancelled.",
        )

    def submit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        refusal = change_ticket_requester_refusal(ticket, request.user, "change_ticket_submit")
        if refusal:
            refuse(request, attempted="change_ticket_submit", obj=ticket, reason=refusal)
        return post_action(
            request,
            record=ticket,
            perform=lambda: change_ticket_submit(ticket=ticket, actor=request.user),
            success_message=f"{ticket.identifier} submitted: it waits for the signatures of its approvers.",
        )

    def deploy_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        if not may(request, DEPLOY):
            refuse(request, attempted="change_ticket_deploy", obj=ticket)
        return post_action(
            request,
            record=ticket,
            perform=lambda: change_ticket_deploy(ticket=ticket, actor=request.user),
            success_message=f"{ticket.model_version} is live in {ticket.get_environment_display()}.",
        )

    def deploy_break_glass_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(pk)
        if not may(request, DEPLOY):
            refuse(request, attempted="change_ticket_deploy_break_glass", obj=ticket)
        return form_page(
            request,
            model_admin=self,
            record=ticket,
            form=BreakGlassForm(request.POST if request.method == "POST" else None),
            title=f"Emergency deployment of {ticket.identifier} (break glass)",
            intro="Deploys although the conditions listed on the ticket do not all hold. A Risk Officer other than "
            "you signs the override now, with their password.",
            perform=approver_reauthentication_counted(
                request,
                lambda data: change_ticket_deploy_break_glass(
                    ticket=ticket,
                    actor=request.user,
                    justification=data["justification"],
                    approver_username=data["approver"],
                    approver_password=data["approver_password"],
                ),
            ),
            success_message=f"{ticket.model_version} is live in {ticket.get_environment_display()} under a "
            "break-glass override.",
            submit_label="Deploy under break glass",
        )


def ticket_context(request: HttpRequest, ticket: ChangeTicket) -> dict[str, Any]:
    """Who must sign and who has, what stands in the way, and which buttons this person gets."""
    user = request.user
    approvals = ticket_approvals(ticket)
    held = roles_of(user)
    requester = change_ticket_requester_refusal(ticket, user, "change_ticket_submit") is None
    submitted = ticket.state == ChangeTicketState.SUBMITTED
    approver = submitted and not requester and may(request, SIGN)
    return {
        "approvers": [(role, approvals.get(role)) for role in ticket.required_roles],
        # Until the ticket is approved its own missing signatures are the expected thing, not a problem.
        "problems": (
            promotion_problems(
                ticket.model_version,
                ticket.environment,
                ticket=ticket,
                check_ticket=ticket.state == ChangeTicketState.APPROVED,
            )
            if ticket.state in OPEN_STATES
            else None
        ),
        "gate": ticket.gate_decision,
        "may_sign": change_ticket_approve_refusal(ticket, user, signed=approvals, held=held) is None,
        "may_reject": approver and bool(set(ticket.required_roles) & held),
        "may_submit": requester and ticket.state == ChangeTicketState.DRAFT,
        "may_cancel": requester and ticket.state in OPEN_STATES,
        "may_deploy": ticket.state == ChangeTicketState.APPROVED and may(request, DEPLOY),
    }


def with_break_glass(context: dict[str, Any]) -> dict[str, Any]:
    """An approved ticket that cannot deploy offers the emergency route to whoever may deploy."""
    return {**context, "may_break_glass": bool(context["may_deploy"] and context["problems"])}
