"""Source systems and datasets: browsed by everyone who reads lineage, registered by data stewards through
``source_system_create`` and ``dataset_create``. Lineage records and templates are browsed here; a record is
edited from its version's page, while the version is a draft."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts.admin.actions import may, refuse
from audit.admin import GovernedAdmin, ReadOnlyAuditAdmin
from lineage.admin.pages import form_page
from lineage.forms import DatasetForm, SourceSystemForm
from lineage.models import Dataset, LineageRecord, LineageSource, LineageTemplate, SourceSystem, TransformationStep
from lineage.services import dataset_create, source_system_create


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
    fields = (
        "source_system",
        "legal_basis",
        "special_category",
        "article9_condition",
        "period_start",
        "period_end",
        "languages",
        "synthetic",
        "generator_model",
        "generator_version",
        "prompt_template_digest",
        "synthetic_share",
    )
    readonly_fields = fields


class TransformationStepInline(ReadOnlyInline):
    model = TransformationStep
    fields = (
        "position",
        "kind",
        "tool",
        "code_version",
        "parameters",
        "input_digest",
        "output_digest",
        "synthetic",
        "generator_model",
        "generator_version",
        "synthetic_share",
    )
    readonly_fields = fields


class LineageAdmin(ReadOnlyAuditAdmin, GovernedAdmin):
    """Browsing with the audit trail of every record; nothing is changed or deleted in a generic form."""


class RegisteredThroughServiceAdmin(LineageAdmin):
    """The add page is a form whose data goes to a service, offered to people whose role grants adding."""

    add_permission = ""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may(request, self.add_permission)

    def register(self, data: dict[str, Any], request: HttpRequest) -> Any:
        raise NotImplementedError

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            refuse(request, attempted=f"add {self.opts.verbose_name}")
        form = self.form(request.POST or None, initial={**self.initial(request), **request.GET.dict()})
        return form_page(
            request,
            model_admin=self,
            form=form,
            title=f"Register a {self.opts.verbose_name}",
            perform=lambda data: self.register(data, request),
            success=lambda created: (
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[created.pk]),
                f"Registered {self.opts.verbose_name} {created}.",
            ),
            cancel_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            submit_label="Register",
        )

    def initial(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(SourceSystem)
class SourceSystemAdmin(RegisteredThroughServiceAdmin):
    list_display = ("name", "kind", "owner", "status", "default_retention_days")
    list_filter = ("status", "kind")
    list_select_related = ("owner",)
    search_fields = ("name",)
    form = SourceSystemForm
    add_permission = "lineage.add_sourcesystem"

    def initial(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk}

    def register(self, data: dict[str, Any], request: HttpRequest) -> SourceSystem:
        return source_system_create(actor=request.user, **data)


@admin.register(Dataset)
class DatasetAdmin(RegisteredThroughServiceAdmin):
    list_display = ("slug", "name", "use_case", "steward")
    list_select_related = ("use_case", "steward")
    search_fields = ("slug", "name")
    form = DatasetForm
    add_permission = "lineage.add_dataset"
    change_form_template = "admin/lineage/dataset_change_form.html"

    def initial(self, request: HttpRequest) -> dict[str, Any]:
        return {"steward": request.user.pk}

    def register(self, data: dict[str, Any], request: HttpRequest) -> Dataset:
        return dataset_create(actor=request.user, **data)

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        context["may_add_version"] = obj is not None and may(request, "lineage.add_datasetversion")
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


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
