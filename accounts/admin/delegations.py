"""Every delegation, for those who oversee them (auditors, access administrators): read-only. People create and
end their own on "My delegations"; an access administrator ends anyone's there too (``delegation_end``)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import Delegation
from audit.admin.governed import GovernedAdmin


@admin.register(Delegation)
class DelegationAdmin(GovernedAdmin):
    list_display = ("delegator", "delegate", "role", "starts", "ends", "ended_at", "created_by")
    list_filter = ("role", "ends")
    list_select_related = ("delegator", "delegate", "created_by")
    search_fields = ("delegator__username", "delegate__username")
    readonly_fields = (
        "delegator",
        "delegate",
        "role",
        "starts",
        "ends",
        "reason",
        "created_by",
        "created_at",
        "ended_at",
        "ended_by",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
