"""Pipeline tokens: listed with their scope and state, and revoked through the service. Tokens are issued with
``manage.py create_pipeline_token``, which shows the secret once; nothing about a token is edited here."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from governance.admin.governed import GovernedAdmin
from governance.admin.signing import reason_view
from governance.ledger import ActionDenied
from governance.models import PipelineToken
from governance.tokens import pipeline_token_revoke


@admin.register(PipelineToken)
class PipelineTokenAdmin(GovernedAdmin):
    list_display = (
        "name",
        "prefix",
        "service_account",
        "scope_list",
        "created_at",
        "expires_at",
        "state",
        "revoke_link",
    )
    list_filter = ("revoked_at", "expires_at")
    list_select_related = ("service_account",)
    search_fields = ("name", "prefix", "service_account__username")
    readonly_fields = (
        "name",
        "prefix",
        "service_account",
        "use_cases",
        "scopes",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
    )
    exclude = ("token_hash",)
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: PipelineToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=_("state"))
    def state(self, obj: PipelineToken) -> str:
        if obj.revoked_at is not None:
            return str(_("revoked"))
        return str(_("expired")) if obj.expires_at <= timezone.now() else str(_("active"))

    @admin.display(description="")
    def revoke_link(self, obj: PipelineToken) -> str:
        if obj.revoked_at is not None:
            return ""
        url = reverse("admin:governance_pipelinetoken_revoke", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Revoke..."))

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("governance.change_pipelinetoken")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="governance_pipelinetoken_revoke",
            ),
            *super().get_urls(),
        ]

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Revoke one token, saying why (the reason goes on the token and in the ledger)."""
        token = get_object_or_404(PipelineToken, pk=object_id)
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=token,
            title=f"Revoke {token}",
            submit_label=str(_("Revoke the token")),
            perform=lambda reason: pipeline_token_revoke(token=token, actor=request.user, reason=reason),
            success_url=reverse("admin:governance_pipelinetoken_changelist"),
            success_message=f"{token} is revoked; it no longer authenticates.",
        )

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PipelineToken]) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                pipeline_token_revoke(
                    token=token, actor=request.user, reason=f"Revoked in the admin by {request.user.get_username()}."
                )
            except ActionDenied as denial:
                self.message_user(request, f"{token}: {denial.reason}", messages.ERROR)
            else:
                revoked += 1
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
