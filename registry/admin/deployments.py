"""Deployments: what runs where, with the on-call buttons (roll back to the previous stable version, engage or
release the kill switch), the event history and the recent monitoring; and the read-only history tables."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import may, refuse
from accounts.admin.signing import reason_view
from audit.admin import ReadOnlyAuditAdmin
from lineage.choices import DatasetVersionState
from registry.admin.base import RegistryAdmin, UnapprovedDataFilter, data_flag, on_unapproved_data, unapproved_links
from registry.admin.pages import RollbackBreakGlassForm, approver_reauthentication_counted, change_url, form_page
from registry.charts import monitoring_chart
from registry.models import Deployment, DeploymentEvent, MonitoringSummary
from registry.services.deployments import deployment_kill_switch, deployment_rollback
from registry.services.emergency import deployment_rollback_break_glass
from registry.services.training import model_data_problems

ROLLBACK = "registry.rollback_deployment"
KILL_SWITCH = "registry.kill_switch_deployment"
EVENTS_SHOWN = 50
SUMMARIES_SHOWN = 10


@admin.register(Deployment)
class DeploymentAdmin(RegistryAdmin):
    list_display = (
        "environment",
        "use_case",
        "current_version",
        "current_training_data",
        "previous_stable_version",
        "kill_switch_engaged",
    )
    list_display_links = ("environment",)
    list_filter = ("environment", "kill_switch_engaged", UnapprovedDataFilter, "use_case")
    list_select_related = ("use_case", "current_version__training_run", "previous_stable_version")
    fields = (
        "use_case",
        "environment",
        "kill_switch_engaged",
        "kill_switch_reason",
        "max_policy_violation_rate",
        "max_refusal_rate",
        "max_escalation_rate",
        "max_human_override_rate",
    )
    change_form_template = "admin/registry/deployment_change_form.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            .annotate(data_unapproved=on_unapproved_data("current_version"))
            .prefetch_related(unapproved_links("current_version__training_run"))
        )

    @admin.display(description=_("training data of the current version"), ordering="data_unapproved")
    def current_training_data(self, deployment: Deployment) -> str:
        version = deployment.current_version
        return data_flag(deployment.data_unapproved, version.training_run) if version else "-"

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        queryset = Deployment.objects.select_related(
            "use_case", "current_version__training_run", "previous_stable_version"
        )
        try:
            return queryset.get(pk=int(object_id))
        except (Deployment.DoesNotExist, ValidationError, ValueError):
            return None

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="registry_deployment_rollback",
            ),
            path(
                "<int:pk>/rollback-break-glass/",
                self.admin_site.admin_view(self.rollback_break_glass_view),
                name="registry_deployment_rollback_break_glass",
            ),
            path(
                "<int:pk>/kill-switch/<str:action>/",
                self.admin_site.admin_view(self.kill_switch_view),
                name="registry_deployment_kill_switch",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context.update(deployment_context(request, obj))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def rollback_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        deployment = get_object_or_404(Deployment.objects.select_related("previous_stable_version"), pk=pk)
        if not may(request, ROLLBACK):
            refuse(request, attempted="deployment_rollback", obj=deployment)
        target = deployment.previous_stable_version
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=deployment,
            title=f"Roll back {deployment} to {target or 'the previous stable version'}",
            submit_label=f"Roll back to {target}" if target else "Roll back",
            perform=lambda reason: deployment_rollback(deployment=deployment, actor=request.user, reason=reason),
            success_url=change_url(deployment),
            success_message=f"Rolled back {deployment} to {target}; the incident is linked in the history below.",
        )

    def rollback_break_glass_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        deployment = get_object_or_404(Deployment.objects.select_related("previous_stable_version"), pk=pk)
        if not may(request, ROLLBACK):
            refuse(request, attempted="deployment_rollback_break_glass", obj=deployment)
        target = deployment.previous_stable_version
        return form_page(
            request,
            model_admin=self,
            record=deployment,
            form=RollbackBreakGlassForm(request.POST if request.method == "POST" else None),
            title=f"Emergency rollback of {deployment} to {target} (break glass)",
            intro="The previous stable version was trained on data that is no longer approved. Rolling back onto it "
            "needs a Risk Officer other than you to sign the override now, with their password.",
            perform=approver_reauthentication_counted(
                request,
                lambda data: deployment_rollback_break_glass(
                    deployment=deployment,
                    actor=request.user,
                    reason=data["reason"],
                    justification=data["justification"],
                    approver_username=data["approver"],
                    approver_password=data["approver_password"],
                ),
            ),
            success_message=f"Rolled back {deployment} to {target} under a break-glass override.",
            submit_label="Roll back under break glass",
        )

    def kill_switch_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in ("engage", "release"):
            raise Http404
        deployment = get_object_or_404(Deployment, pk=pk)
        if not may(request, KILL_SWITCH):
            refuse(request, attempted="deployment_kill_switch", obj=deployment)
        engage = action == "engage"
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=deployment,
            title=f"{action.capitalize()} the kill switch of {deployment}",
            submit_label=f"{action.capitalize()} the kill switch",
            perform=lambda reason: deployment_kill_switch(
                deployment=deployment, actor=request.user, engage=engage, reason=reason
            ),
            success_url=change_url(deployment),
            success_message=f"Kill switch of {deployment} {'engaged' if engage else 'released'}.",
        )


def deployment_context(request: HttpRequest, deployment: Deployment) -> dict[str, Any]:
    current = deployment.current_version
    unapproved = []
    if current is not None:
        unapproved = list(
            current.training_run.dataset_links.exclude(dataset_version__state=DatasetVersionState.APPROVED)
            .select_related("dataset_version__dataset")
            .order_by("dataset_version__dataset__slug", "dataset_version__number")
        )
    events = deployment.events.select_related(
        "model_version", "replaced_version", "change_ticket", "incident", "override", "actor"
    ).order_by("-happened_at", "-id")
    may_rollback = bool(may(request, ROLLBACK) and current is not None and deployment.previous_stable_version_id)
    rollback_blocked = may_rollback and bool(model_data_problems(deployment.previous_stable_version))
    summaries = deployment.monitoring.select_related("model_version", "incident").order_by("-period_end", "-id")
    return {
        "unapproved": unapproved,
        "events": list(events[:EVENTS_SHOWN]),
        "summaries": list(summaries[:SUMMARIES_SHOWN]),
        "monitoring_chart": monitoring_chart(deployment),
        "may_rollback": may_rollback and not rollback_blocked,
        "may_rollback_break_glass": rollback_blocked,
        "may_kill_switch": may(request, KILL_SWITCH),
    }


@admin.register(DeploymentEvent)
class DeploymentEventAdmin(ReadOnlyAuditAdmin):
    """The deployment history (append-only, beside the ledger entry of each change)."""

    list_display = (
        "happened_at",
        "deployment",
        "kind",
        "model_version",
        "replaced_version",
        "change_ticket",
        "incident",
    )
    list_filter = ("kind", "deployment__environment")
    list_select_related = ("deployment__use_case", "model_version", "replaced_version", "change_ticket", "incident")
    ordering = ("-happened_at", "-id")


@admin.register(MonitoringSummary)
class MonitoringSummaryAdmin(RegistryAdmin):
    list_display = (
        "__str__",
        "model_version",
        "volume",
        "policy_violation_rate",
        "refusal_rate",
        "escalation_rate",
        "human_override_rate",
        "review_backlog",
        "incident",
    )
    list_filter = ("deployment__environment", "deployment__use_case")
    list_select_related = ("deployment__use_case", "model_version", "incident")
    ordering = ("-period_end", "-id")
