"""Lineage in the admin: browsing sources, datasets and versions with their lineage records.

Read-only for now: sources, datasets and versions are registered through the services (the pipeline API and
the demo seed); the reviewers' pages and the forms that call the services come with the review workflow.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.admin import GovernedAdmin, ReadOnlyAuditAdmin
from lineage.models import (
    Dataset,
    DatasetVersion,
    LineageRecord,
    LineageSource,
    LineageTemplate,
    SourceSystem,
    TransformationStep,
)


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
