"""Admin whose add and change buttons follow the person's role, never their being an administrator."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.authz import holds_approval_permission
from audit.admin.export import ListExportMixin


class RoleGatedAdmin(ListExportMixin, admin.ModelAdmin):
    """Adding, changing and deleting are offered only to people whose role grants it; being an
    administrator does not (the services would refuse anyway). Viewing follows Django's permissions."""

    def _role_allows(self, request: HttpRequest, action: str) -> bool:
        return holds_approval_permission(request.user, f"{self.opts.app_label}.{action}_{self.opts.model_name}")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        return {}
