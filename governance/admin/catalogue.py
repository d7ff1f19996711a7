"""Control catalogues (shipped, read-only) and the policy register."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin.role_gated import RoleGatedAdmin
from audit.admin.governed import GovernedAdmin, ReadOnlyAuditAdmin
from governance.models import Control, ControlFramework, Policy
from governance.services.policies import policy_save


@admin.register(ControlFramework)
class ControlFrameworkAdmin(ReadOnlyAuditAdmin):
    list_display = ("name", "version", "code", "control_count")
    search_fields = ("name", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(control_total=Count("controls"))

    @admin.display(description="controls", ordering="control_total")
    def control_count(self, framework: ControlFramework) -> int:
        return framework.control_total


@admin.register(Control)
class ControlAdmin(ReadOnlyAuditAdmin):
    list_display = ("identifier", "title", "framework")
    list_filter = ("framework",)
    list_select_related = ("framework",)
    search_fields = ("identifier", "title")


@admin.register(Policy)
class PolicyAdmin(RoleGatedAdmin, GovernedAdmin):
    list_display = ("code", "title", "version", "effective_date", "owner")
    list_select_related = ("owner",)
    search_fields = ("code", "title")
    autocomplete_fields = ("controls",)
    raw_id_fields = ("owner",)

    def save_model(self, request: HttpRequest, obj: Policy, form: Any, change: bool) -> None:
        fields = {
            name: form.cleaned_data[name] for name in ("code", "title", "text", "owner", "version", "effective_date")
        }
        saved = policy_save(
            actor=request.user, policy=obj if change else None, controls=form.cleaned_data["controls"], **fields
        )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service saved the control mapping already, inside its transaction."""
