"""Dataset versions: registered as drafts through ``dataset_version_create``, authored on their own page (see
``authoring``), and reviewed there by the reviewer assigned to the current stage."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import may, refuse
from accounts.admin.discussion import comment_view, discussion_context
from accounts.admin.signing import reason_view, signing_view
from accounts.authz import printed_names
from audit.admin.display import readable_size
from audit.signatures import signatures_for
from lineage.admin.authoring import DraftAuthoringMixin, authoring_context
from lineage.admin.catalogue import LineageAdmin
from lineage.admin.pages import form_page
from lineage.completeness import dataset_version_completeness
from lineage.forms import DatasetVersionForm
from lineage.models import DatasetVersion, LineageEdge, LineageSource
from lineage.review_page import changes_since_previous, lineage_svg
from lineage.risk import assess
from lineage.selectors import approved_for_training, is_assigned, stage_of
from lineage.services import (
    dataset_version_approve_refusal,
    dataset_version_approvers,
    dataset_version_create,
    dataset_version_reject,
    dataset_version_request_changes,
    dataset_version_review_approve,
)
from lineage.services.reviews import acting_for

REGISTER = "lineage.add_datasetversion"


@admin.register(DatasetVersion)
class DatasetVersionAdmin(DraftAuthoringMixin, LineageAdmin):
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
        "size",
        "storage_uri",
        "sampling_method",
        "filters",
        "created_by",
        "created_at",
        "submitted_by",
        "submitted_at",
    )
    exclude = ("size_bytes",)
    change_form_template = "admin/lineage/datasetversion_change_form.html"

    @admin.display(description=_("size"), ordering="size_bytes")
    def size(self, version: DatasetVersion) -> str:
        return readable_size(version.size_bytes)

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
            path("<int:pk>/comment/", self.admin_site.admin_view(self.comment_view), name=f"{name}_comment"),
            *self.authoring_urls(),
            *super().get_urls(),
        ]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The version with everything its page lists, each in one query: dataset, people, record, parents,
        sources and steps."""
        queryset = (
            self.get_queryset(request)
            .select_related("dataset", "created_by", "submitted_by", "lineage")
            .prefetch_related(
                Prefetch("parent_edges", queryset=LineageEdge.objects.select_related("parent__dataset")),
                Prefetch("lineage__sources", queryset=LineageSource.objects.select_related("source_system")),
                "lineage__steps",
            )
        )
        field = DatasetVersion._meta.pk if from_field is None else DatasetVersion._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (DatasetVersion.DoesNotExist, ValidationError, ValueError):
            return None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may(request, REGISTER)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Register a new draft version of a dataset (``?dataset=<id>`` chooses the dataset)."""
        if not self.has_add_permission(request):
            refuse(request, attempted="dataset_version_create")
        form = DatasetVersionForm(request.POST or None, initial=request.GET.dict())
        return form_page(
            request,
            model_admin=self,
            form=form,
            title="Register a dataset version",
            perform=lambda data: dataset_version_create(actor=request.user, **data),
            success=lambda version: (
                self._page(version),
                f"Registered {version} as a draft. Fill in its lineage, then submit it for review.",
            ),
            cancel_url=reverse("admin:lineage_datasetversion_changelist"),
            submit_label="Register",
        )

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            stage = stage_of(obj)
            context["risk"] = assess(obj.lineage) if hasattr(obj, "lineage") else None
            context["previous_version"], context["changes"] = changes_since_previous(obj)
            context["lineage_svg"] = mark_safe(lineage_svg(obj))  # noqa: S308 - built from escaped labels only
            context["review_stage"] = stage
            context["may_review"] = stage is not None and (
                is_assigned(request.user, obj, stage) or acting_for(request.user, obj, stage) is not None
            )
            context["signatures"] = signatures_for(obj)
            context["training_ok"], context["training_reasons"] = approved_for_training(obj, context["signatures"])
            context.update(authoring_context(request, obj))
            comment_url = reverse("admin:lineage_datasetversion_comment", args=[obj.pk])
            context.update(discussion_context(request, obj, comment_url))
            context["completeness"] = dataset_version_completeness(obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), pk=pk)
        stage = stage_of(version)
        refusal = dataset_version_approve_refusal(version, request.user)
        on_behalf_of = None
        if not refusal and not is_assigned(request.user, version, stage):
            on_behalf_of = acting_for(request.user, version, stage)
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=version,
            meaning=stage.meaning if stage else "Approve dataset version",
            title=f"Review {version}",
            perform=lambda credentials: dataset_version_review_approve(
                version=version, reviewer=request.user, **credentials
            ),
            success_url=self._page(version),
            success_message=f"You signed {version}.",
            cancel_url=self._page(version),
            summary_template="admin/lineage/version_summary.html",
            refusal=refusal,
            who_can=printed_names(dataset_version_approvers(version)),
            on_behalf_of=on_behalf_of,
        )

    def comment_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), pk=pk)
        return comment_view(request, admin_site=self.admin_site, record=version, back_url=self._page(version))

    def _decide_against(self, request: HttpRequest, pk: int, decide: Callable[..., Any], verb: str) -> HttpResponse:
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), pk=pk)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=version,
            title=f"{verb.capitalize()}: {version}",
            submit_label=verb.capitalize(),
            perform=lambda reason: decide(version=version, reviewer=request.user, reason=reason),
            success_url=self._page(version),
            success_message=f"{version}: {verb}.",
        )

    def request_changes_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_against(request, pk, dataset_version_request_changes, "request changes")

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_against(request, pk, dataset_version_reject, "reject")
