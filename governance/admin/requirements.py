"""Requirements documents: drafted with their constraints inline, submitted, signed, returned."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from accounts.admin.role_gated import RoleGatedAdmin
from accounts.admin.signing import reason_view, signing_view
from accounts.authz import holds_approval_permission, printed_names
from audit.admin.governed import GovernedAdmin
from audit.ledger import ActionDenied
from governance.choices import RequirementsState
from governance.models import BehaviorConstraint, RequirementsDocument
from governance.services.requirements import (
    constraint_remove,
    constraint_save,
    open_capacities,
    requirements_create,
    requirements_return_to_draft,
    requirements_sign,
    requirements_sign_refusal,
    requirements_signers,
    requirements_submit,
    requirements_update,
)


class ConstraintInline(admin.StackedInline):
    model = BehaviorConstraint
    extra = 1
    fields = ("position", "applies_when", "statement", "kind", "severity", "policies")
    autocomplete_fields = ("policies",)

    def _editable(self, request: HttpRequest, obj: RequirementsDocument | None) -> bool:
        drafting = holds_approval_permission(request.user, "governance.change_requirementsdocument")
        return drafting and (obj is None or obj.state == RequirementsState.DRAFT)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(request, obj)


@admin.register(RequirementsDocument)
class RequirementsDocumentAdmin(RoleGatedAdmin, GovernedAdmin):
    list_display = ("__str__", "title", "state", "created_by")
    list_filter = ("state", "use_case")
    list_select_related = ("use_case", "created_by")
    search_fields = ("title", "use_case__name")
    inlines = [ConstraintInline]
    change_form_template = "admin/governance/requirements_change_form.html"

    def get_fields(self, request: HttpRequest, obj: RequirementsDocument | None = None) -> list[str]:
        if obj is None:
            return ["use_case", "title", "business_goals"]
        return ["use_case", "version", "state", "title", "business_goals", "created_by", "submitted_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: RequirementsDocument | None = None) -> list[str]:
        return [] if obj is None else ["use_case", "version", "state", "created_by", "submitted_by"]

    def has_change_permission(self, request: HttpRequest, obj: RequirementsDocument | None = None) -> bool:
        if obj is not None and obj.state != RequirementsState.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: RequirementsDocument, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = requirements_update(
                document=obj, actor=request.user, title=data["title"], business_goals=data["business_goals"]
            )
        else:
            saved = requirements_create(
                use_case=data["use_case"],
                actor=request.user,
                title=data["title"],
                business_goals=data["business_goals"],
            )
        obj.pk, obj.version = saved.pk, saved.version
        obj.refresh_from_db()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Each constraint goes through the constraint services, which refuse unless the document is a draft."""
        document = form.instance
        for inline_form in formset.forms:
            if not inline_form.has_changed() and not inline_form.instance.pk:
                continue
            data = inline_form.cleaned_data
            if data.get("DELETE") and inline_form.instance.pk:
                constraint_remove(constraint=inline_form.instance, actor=request.user)
            elif inline_form.has_changed():
                constraint_save(
                    document=document,
                    actor=request.user,
                    constraint=inline_form.instance if inline_form.instance.pk else None,
                    statement=data["statement"],
                    kind=data["kind"],
                    severity=data["severity"],
                    applies_when=data.get("applies_when", ""),
                    policies=data.get("policies", []),
                    position=data.get("position"),
                )

    def get_urls(self) -> list[URLPattern]:
        name = "governance_requirementsdocument"
        return [
            path("<int:pk>/submit/", self.admin_site.admin_view(self.submit_view), name=f"{name}_submit"),
            path("<int:pk>/sign/", self.admin_site.admin_view(self.sign_view), name=f"{name}_sign"),
            path("<int:pk>/return/", self.admin_site.admin_view(self.return_view), name=f"{name}_return"),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context["signing_capacities"] = open_capacities(obj, request.user)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _change_url(self, document: RequirementsDocument) -> str:
        return reverse("admin:governance_requirementsdocument_change", args=[document.pk])

    def submit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = get_object_or_404(RequirementsDocument, pk=pk)
        if request.method != "POST":
            raise PermissionDenied
        try:
            requirements_submit(document=document, actor=request.user)
        except (ActionDenied, ValidationError) as error:
            messages.error(request, getattr(error, "reason", None) or " ".join(error.messages))
        else:
            messages.success(request, f"Version {document.version} submitted for review and signing.")
        return HttpResponseRedirect(self._change_url(document))

    def sign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = get_object_or_404(RequirementsDocument, pk=pk)
        capacities = open_capacities(document, request.user)
        back = self._change_url(document)
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=document,
            meaning=capacities[0] if capacities else "Approve requirements",
            title=f"Sign {document}",
            perform=lambda credentials: requirements_sign(document=document, actor=request.user, **credentials),
            success_url=back,
            success_message=f"You signed {document}.",
            cancel_url=back,
            summary_template="admin/governance/requirements_summary.html",
            refusal=requirements_sign_refusal(document, request.user),
            who_can=printed_names(requirements_signers(document)),
        )

    def return_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = get_object_or_404(RequirementsDocument, pk=pk)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=document,
            title=f"Return {document} for changes",
            submit_label="Return for changes",
            perform=lambda reason: requirements_return_to_draft(document=document, actor=request.user, reason=reason),
            success_url=self._change_url(document),
            success_message=f"Version {document.version} returned to its authors.",
        )
