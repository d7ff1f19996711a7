"""Lineage in the admin: browsing sources, datasets and versions with their lineage records.

Sources, datasets and versions are registered through the services (the pipeline API and the demo seed), so
these pages only browse them; a version's page carries the review actions of its assigned reviewer, and
erasure requests are filed and processed here.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from governance.admin import GovernedAdmin, ReadOnlyAuditAdmin, RoleGatedAdmin
from governance.admin.signing import reason_view, signing_view
from governance.authz import holds_approval_permission
from governance.ledger import ActionDenied
from lineage.choices import ErasureState
from lineage.erasure import erasure_request_create, erasure_request_process
from lineage.models import (
    Dataset,
    DatasetVersion,
    ErasureRequest,
    LineageRecord,
    LineageSource,
    LineageTemplate,
    SourceSystem,
    TransformationStep,
)
from lineage.review_page import changes_since_previous, lineage_svg
from lineage.reviews import (
    approved_for_training,
    dataset_version_reject,
    dataset_version_request_changes,
    dataset_version_review_approve,
    is_assigned,
    stage_of,
)
from lineage.risk import assess


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LineageSourceInline(ReadOnlyInline):
    model = LineageSource
    fields = ("source_system", "legal_basis", "special_category", "article9_condition", "period_start", "period_end")
    readonly_fields = fields


class TransformationStepInline(ReadOnlyInline):
    model = TransformationStep
    fields = ("position", "kind", "tool", "code_version", "parameters", "input_digest", "output_digest")
    readonly_fields = fields


class LineageAdmin(ReadOnlyAuditAdmin, GovernedAdmin):
    """Browsing with the audit trail of every record; no add, change or delete here."""


@admin.register(SourceSystem)
class SourceSystemAdmin(LineageAdmin):
    list_display = ("name", "kind", "owner", "status", "default_retention_days")
    list_filter = ("status", "kind")
    list_select_related = ("owner",)
    search_fields = ("name",)


@admin.register(Dataset)
class DatasetAdmin(LineageAdmin):
    list_display = ("slug", "name", "use_case", "steward")
    list_select_related = ("use_case", "steward")
    search_fields = ("slug", "name")


@admin.register(DatasetVersion)
class DatasetVersionAdmin(LineageAdmin):
    list_display = ("__str__", "state", "row_count", "created_by", "created_at", "submitted_at")
    list_filter = ("state", "dataset")
    list_select_related = ("dataset", "created_by")
    search_fields = ("dataset__slug",)
    readonly_fields = (
        "dataset",
        "number",
        "state",
        "revision",
        "content_digest",
        "row_count",
        "size_bytes",
        "storage_uri",
        "sampling_method",
        "filters",
        "created_by",
        "created_at",
        "submitted_by",
        "submitted_at",
    )
    change_form_template = "admin/lineage/datasetversion_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        name = "lineage_datasetversion"
        return [
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name=f"{name}_approve"),
            path(
                "<int:pk>/request-changes/",
                self.admin_site.admin_view(self.request_changes_view),
                name=f"{name}_request_changes",
            ),
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name=f"{name}_reject"),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            stage = stage_of(obj)
            context["risk"] = assess(obj.lineage) if hasattr(obj, "lineage") else None
            context["previous_version"], context["changes"] = changes_since_previous(obj)
            context["lineage_svg"] = mark_safe(lineage_svg(obj))  # noqa: S308 - built from escaped labels only
            context["review_stage"] = stage
            context["may_review"] = stage is not None and is_assigned(request.user, obj, stage)
            context["training_ok"], context["training_reasons"] = approved_for_training(obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _back(self, version: DatasetVersion) -> str:
        return reverse("admin:lineage_datasetversion_change", args=[version.pk])

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), pk=pk)
        stage = stage_of(version)
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=version,
            meaning=stage.meaning if stage else "Approve dataset version",
            title=f"Review {version}",
            perform=lambda credentials: dataset_version_review_approve(
                version=version, reviewer=request.user, **credentials
            ),
            success_url=self._back(version),
            success_message=f"You signed {version}.",
            cancel_url=self._back(version),
            summary_template="admin/lineage/version_summary.html",
        )

    def _decide_against(self, request: HttpRequest, pk: int, decide: Callable[..., Any], verb: str) -> HttpResponse:
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), pk=pk)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=version,
            title=f"{verb.capitalize()}: {version}",
            submit_label=verb.capitalize(),
            perform=lambda reason: decide(version=version, reviewer=request.user, reason=reason),
            success_url=self._back(version),
            success_message=f"{version}: {verb}.",
        )

    def request_changes_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_against(request, pk, dataset_version_request_changes, "request changes")

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_against(request, pk, dataset_version_reject, "reject")


@admin.register(LineageRecord)
class LineageRecordAdmin(LineageAdmin):
    list_display = ("version", "sensitivity", "retention_days", "dpia_reference")
    list_filter = ("sensitivity",)
    list_select_related = ("version__dataset",)
    inlines = [LineageSourceInline, TransformationStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("version__dataset")


@admin.register(LineageTemplate)
class LineageTemplateAdmin(LineageAdmin):
    list_display = ("name", "description")


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
