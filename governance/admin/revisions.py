"""RACI and threshold revisions: the list of revisions, and the approve / reject pages."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from accounts.admin.signing import reason_view, signing_view
from accounts.authz import printed_names
from audit.admin.governed import GovernedAdmin, ReadOnlyAuditAdmin
from audit.signatures import signatures_for
from governance.models import RaciMatrix, ThresholdPolicy
from governance.models.revisions import ChangeControlledRevision
from governance.services.revisions import (
    revision_approve,
    revision_decide_refusal,
    revision_deciders,
    revision_on_behalf_of,
    revision_reject,
)


class RevisionAdmin(ReadOnlyAuditAdmin, GovernedAdmin):
    """Revisions are created by the propose services (RACI grid, thresholds page) and decided here."""

    list_display = ("__str__", "state", "proposed_by", "proposed_at", "decided_by", "decided_at")
    list_filter = ("state",)
    list_select_related = ("use_case", "proposed_by", "decided_by")
    readonly_fields = ("content_table", "state", "proposed_by", "proposed_at", "rationale", "decided_by", "decided_at")
    exclude = ("revision", "use_case", "decision_note")
    change_form_template = "admin/governance/revision_change_form.html"

    @admin.display(description="changes and content")
    def content_table(self, revision: ChangeControlledRevision) -> str:
        from django.template.loader import render_to_string

        from governance.templatetags.governance_revisions import revision_content

        return render_to_string("admin/governance/revision_content.html", revision_content(revision))

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context["signatures"] = signatures_for(obj)  # the approval's, with its note and on whose behalf
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name=f"{name}_approve"),
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name=f"{name}_reject"),
            *super().get_urls(),
        ]

    def _after_decision_url(self, revision: ChangeControlledRevision) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[revision.pk])

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        revision = get_object_or_404(self.model, pk=pk)
        back = self._after_decision_url(revision)
        refusal = revision_decide_refusal(revision, request.user)
        delegation = None if refusal else revision_on_behalf_of(revision, request.user)
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=revision,
            meaning=f"Approve {self.opts.verbose_name} revision {revision.revision}",
            title=f"Approve {revision}",
            perform=lambda credentials: revision_approve(revision=revision, approver=request.user, **credentials),
            success_url=back,
            success_message=f"Revision {revision.revision} approved and in effect.",
            cancel_url=back,
            summary_template="admin/governance/revision_summary.html",
            refusal=refusal,
            who_can=printed_names(revision_deciders(revision)),
            on_behalf_of=delegation.delegator if delegation else None,
        )

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        revision = get_object_or_404(self.model, pk=pk)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=revision,
            title=f"Reject {revision}",
            submit_label="Reject",
            perform=lambda reason: revision_reject(revision=revision, approver=request.user, note=reason),
            success_url=self._after_decision_url(revision),
            success_message=f"Revision {revision.revision} rejected.",
        )


@admin.register(RaciMatrix)
class RaciMatrixAdmin(RevisionAdmin):
    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("assignments")


@admin.register(ThresholdPolicy)
class ThresholdPolicyAdmin(RevisionAdmin):
    list_filter = ("state", ("use_case", admin.EmptyFieldListFilter))
    change_list_template = "admin/governance/thresholdpolicy/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "default/",
                self.admin_site.admin_view(self.default_view),
                name="governance_thresholdpolicy_default",
            ),
            *super().get_urls(),
        ]

    def default_view(self, request: HttpRequest) -> HttpResponse:
        """The organisation default thresholds, which use cases without their own fall back to."""
        from governance.admin.usecases import thresholds_page

        if not self.has_view_permission(request):
            raise PermissionDenied
        return thresholds_page(self, request, None)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("rules")
