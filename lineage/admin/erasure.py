"""Erasure requests: filed through ``erasure_request_create`` with form-level validation, processed (once)
with a button through ``erasure_request_process``."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.admin.role_gated import RoleGatedAdmin
from accounts.authz import holds_approval_permission
from audit.admin import GovernedAdmin
from audit.ledger import ActionDenied
from lineage.choices import ErasureState
from lineage.models import ErasureRequest
from lineage.services import erasure_request_create, erasure_request_process


class ErasureRequestForm(forms.ModelForm):
    class Meta:
        model = ErasureRequest
        fields = ("kind", "reference", "source_systems", "period_start", "period_end", "reason")

    def clean(self) -> dict[str, Any]:
        """The service's checks, on the form, so the person sees them beside the fields they typed."""
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", "The period ends before it starts.")
        return data


@admin.register(ErasureRequest)
class ErasureRequestAdmin(RoleGatedAdmin, GovernedAdmin):
    """Filed through ``erasure_request_create``, processed (once) through ``erasure_request_process``."""

    form = ErasureRequestForm

    list_display = ("reference", "kind", "state", "requested_by", "processed_at")
    list_filter = ("kind", "state")
    list_select_related = ("requested_by",)
    search_fields = ("reference",)
    filter_horizontal = ("source_systems",)
    change_form_template = "admin/lineage/erasurerequest_change_form.html"

    def get_fields(self, request: HttpRequest, obj: ErasureRequest | None = None) -> list[str]:
        fields = ["kind", "reference", "source_systems", "period_start", "period_end", "reason"]
        return fields if obj is None else [*fields, "state", "requested_by", "processed_at", "impact"]

    def get_readonly_fields(self, request: HttpRequest, obj: ErasureRequest | None = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: ErasureRequest | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description=_("impact report"))
    def impact(self, request_obj: ErasureRequest) -> str:
        report = request_obj.impact_report or {}
        return format_html_join(
            mark_safe("<br>"),
            "<strong>{}</strong>: {}",
            ((key, ", ".join(value) or "none") for key, value in report.items()),
        )

    def save_model(self, request: HttpRequest, obj: ErasureRequest, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = erasure_request_create(
            actor=request.user,
            kind=data["kind"],
            reference=data["reference"],
            source_systems=data["source_systems"],
            reason=data["reason"],
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
        )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service set the source systems inside its transaction."""

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/process/",
                self.admin_site.admin_view(self.process_view),
                name="lineage_erasurerequest_process",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        context["may_process"] = (
            obj is not None
            and obj.state == ErasureState.OPEN
            and holds_approval_permission(request.user, "lineage.change_erasurerequest")
        )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def process_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            raise PermissionDenied
        erasure = get_object_or_404(ErasureRequest, pk=pk)
        try:
            processed = erasure_request_process(request=erasure, actor=request.user)
        except ActionDenied as denial:
            messages.error(request, denial.reason)
        else:
            report = processed.impact_report
            messages.success(
                request,
                f"Processed: {len(report['revoked'])} version(s) revoked, "
                f"{len(report['flagged_in_progress'])} flagged in progress.",
            )
        return HttpResponseRedirect(reverse("admin:lineage_erasurerequest_change", args=[pk]))
