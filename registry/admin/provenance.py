"""Provenance flags in the admin: the contradictions the checks found, each with its evidence and both records,
and the page where a Risk Officer resolves one with a note (a second one confirms a high flag)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import may, refuse
from accounts.admin.signing import reason_view
from registry.admin.base import RegistryAdmin
from registry.models import ProvenanceFlag
from registry.services.provenance import OPEN_STATES, RESOLVE, provenance_flag_resolve


@admin.register(ProvenanceFlag)
class ProvenanceFlagAdmin(RegistryAdmin):
    list_display = ("summary", "kind", "severity", "state", "model_version", "dataset_version", "raised_at")
    list_filter = ("state", "severity", "kind")
    list_select_related = ("model_version", "dataset_version__dataset")
    search_fields = ("summary", "subject", "model_version__name", "dataset_version__dataset__slug")
    readonly_fields = ("records_compared",)
    fields = (
        "model_version",
        "dataset_version",
        "other_model_version",
        "records_compared",
        "kind",
        "severity",
        "subject",
        "summary",
        "evidence",
        "state",
        "raised_at",
        "resolution_note",
        "proposed_by",
        "resolved_by",
        "resolved_at",
    )
    change_form_template = "admin/registry/provenanceflag_change_form.html"

    @admin.display(description=_("records compared"))
    def records_compared(self, flag: ProvenanceFlag) -> str:
        """Links to the two records whose claims disagree, as the check named them in the evidence."""
        items = []
        for record in flag.evidence.get("records", []) if isinstance(flag.evidence, dict) else []:
            app_label, _dot, model = str(record.get("type", "")).partition(".")
            try:
                url = reverse(f"admin:{app_label}_{model}_change", args=[record.get("id")])
            except NoReverseMatch:
                items.append(format_html("{}", record.get("label", "")))
            else:
                items.append(format_html('<a href="{}">{}</a>', url, record.get("label", "")))
        return format_html_join(mark_safe("<br>"), "{}", ((item,) for item in items)) if items else "-"

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="registry_provenanceflag_resolve",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context["may_resolve"] = may(request, RESOLVE) and obj.state in OPEN_STATES
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def resolve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        flag = get_object_or_404(
            ProvenanceFlag.objects.select_related("model_version", "dataset_version__dataset"), pk=pk
        )
        if not may(request, RESOLVE):
            refuse(request, attempted="provenance_flag_resolve", obj=flag)
        confirming = flag.proposed_by_id is not None
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=flag,
            title=f"{'Confirm the resolution of' if confirming else 'Resolve'} a flag of {flag.flagged_record}",
            submit_label="Confirm the resolution" if confirming else "Resolve",
            perform=lambda note: provenance_flag_resolve(flag=flag, actor=request.user, note=note),
            success_url=reverse("admin:registry_provenanceflag_change", args=[flag.pk]),
            success_message="Resolution recorded.",
        )
