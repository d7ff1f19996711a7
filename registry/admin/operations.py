"""Incidents (confirm or dismiss a draft, resolve with the root cause, close with the post-incident review) and
model cards (each revision kept, read-only)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import may, refuse
from accounts.admin.signing import reason_view
from lineage.models import DatasetVersion
from registry.admin.base import RegistryAdmin
from registry.admin.pages import change_url, form_page, post_action
from registry.choices import IncidentState, RootCauseKind
from registry.models import Incident, ModelCard, TrainingRun
from registry.services.incidents import incident_close, incident_confirm, incident_dismiss, incident_resolve

CHANGE = "registry.change_incident"
CLOSE = "registry.close_incident"
ACTIVE = (IncidentState.OPEN, IncidentState.CONTAINED)


class ResolveForm(forms.Form):
    root_cause_kind = forms.ChoiceField(label=_("Root cause"), choices=RootCauseKind.choices)
    root_cause_summary = forms.CharField(
        label=_("Root cause analysis"), widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000
    )
    root_cause_training_run = forms.ModelChoiceField(
        label=_("Training run"), queryset=TrainingRun.objects.none(), required=False
    )
    root_cause_dataset_version = forms.CharField(
        label=_("Dataset version"), max_length=200, required=False, help_text=_("e.g. support-chats@3")
    )
    followup_retraining = forms.BooleanField(label=_("Request a retraining"), required=False)

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["root_cause_training_run"].queryset = TrainingRun.objects.filter(
            use_case_id=incident.use_case_id
        ).order_by("-started_at")

    def clean_root_cause_dataset_version(self) -> DatasetVersion | None:
        value = self.cleaned_data["root_cause_dataset_version"].strip()
        if not value:
            return None
        try:
            return DatasetVersion.objects.get_by_identifier(value)
        except DatasetVersion.DoesNotExist:
            raise ValidationError(f"No dataset version {value}.") from None


class CloseForm(forms.Form):
    post_incident_review = forms.CharField(
        label=_("Post-incident review"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20_000,
        required=False,
        help_text=_("Required for SEV1 and SEV2: what happened, why, and what changes so it does not recur."),
    )


@admin.register(Incident)
class IncidentAdmin(RegistryAdmin):
    list_display = ("identifier", "title", "severity", "state", "source", "model_version", "deployment", "detected_at")
    list_filter = ("state", "severity", "source", "use_case")
    list_select_related = ("model_version", "deployment__use_case")
    search_fields = ("title",)
    fields = (
        "use_case",
        "title",
        "description",
        "severity",
        "source",
        "state",
        "model_version",
        "deployment",
        "detected_at",
        "reported_by",
        "containment",
        "root_cause_kind",
        "root_cause_training_run",
        "root_cause_dataset_version",
        "root_cause_summary",
        "followup_retraining",
        "post_incident_review",
        "closed_at",
    )
    change_form_template = "admin/registry/incident_change_form.html"

    @admin.display(description=_("incident"), ordering="pk")
    def identifier(self, incident: Incident) -> str:
        return incident.identifier

    def get_urls(self) -> list[URLPattern]:
        name = "registry_incident"
        views = [
            ("confirm", self.confirm_view),
            ("dismiss", self.dismiss_view),
            ("resolve", self.resolve_view),
            ("close", self.close_view),
        ]
        return [
            *(
                path(f"<int:pk>/{route}/", self.admin_site.admin_view(view), name=f"{name}_{route}")
                for route, view in views
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            may_change = may(request, CHANGE)
            context.update(
                {
                    "may_triage": may_change and obj.state == IncidentState.DRAFT,
                    "may_resolve": may_change and obj.state in ACTIVE,
                    "may_close": may(request, CLOSE) and obj.state == IncidentState.RESOLVED,
                    "events": list(
                        obj.deployment_events.select_related("deployment__use_case", "model_version").order_by(
                            "-happened_at"
                        )
                    ),
                }
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _incident(self, request: HttpRequest, pk: int, permission: str, attempted: str) -> Incident:
        incident = get_object_or_404(Incident, pk=pk)
        if not may(request, permission):
            refuse(request, attempted=attempted, obj=incident)
        return incident

    def confirm_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident(request, pk, CHANGE, "incident_confirm")
        return post_action(
            request,
            record=incident,
            perform=lambda: incident_confirm(incident=incident, actor=request.user),
            success_message=f"{incident.identifier} confirmed: it is an open incident now.",
        )

    def dismiss_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident(request, pk, CHANGE, "incident_dismiss")
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=incident,
            title=f"Dismiss {incident.identifier}",
            submit_label="Dismiss",
            perform=lambda reason: incident_dismiss(incident=incident, actor=request.user, reason=reason),
            success_url=change_url(incident),
            success_message=f"{incident.identifier} dismissed.",
        )

    def resolve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident(request, pk, CHANGE, "incident_resolve")

        def perform(data: dict[str, Any]) -> Incident:
            return incident_resolve(
                incident=incident,
                actor=request.user,
                root_cause_kind=data["root_cause_kind"],
                root_cause_summary=data["root_cause_summary"],
                training_run=data["root_cause_training_run"],
                dataset_version=data["root_cause_dataset_version"],
                followup_retraining=data["followup_retraining"],
            )

        return form_page(
            request,
            model_admin=self,
            record=incident,
            form=ResolveForm(request.POST or None, incident=incident),
            title=f"Resolve {incident.identifier}",
            perform=perform,
            success_message=f"{incident.identifier} resolved.",
            submit_label="Resolve",
        )

    def close_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident(request, pk, CLOSE, "incident_close")
        return form_page(
            request,
            model_admin=self,
            record=incident,
            form=CloseForm(request.POST or None, initial={"post_incident_review": incident.post_incident_review}),
            title=f"Close {incident.identifier}",
            perform=lambda data: incident_close(incident=incident, actor=request.user, **data),
            success_message=f"{incident.identifier} closed.",
            submit_label="Close",
            intro=f"{incident.get_severity_display()}. SEV1 and SEV2 close only with a post-incident review.",
        )


@admin.register(ModelCard)
class ModelCardAdmin(RegistryAdmin):
    list_display = ("__str__", "model_version", "revision", "created_by", "created_at", "complete")
    list_filter = ("model_version__use_case",)
    list_select_related = ("model_version", "created_by")
    search_fields = ("model_version__name",)

    @admin.display(description=_("complete"), boolean=True)
    def complete(self, card: ModelCard) -> bool:
        return not card.missing_sections()
