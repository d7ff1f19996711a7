"""Pipeline tokens: listed with their scope, rate and state, issued and revoked through the services.

A token is issued here ("Issue token") or with ``manage.py create_pipeline_token``. Its secret exists only in the
response to the issuing request: rendered into that page (never in the messages framework, whose cookie
storage would carry it to the browser again), sent with ``no-store`` so no cache keeps it, and stored nowhere
but as a digest. Nothing about a token is edited afterwards.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors, refuse
from accounts.admin.signing import reason_view
from accounts.models import PipelineToken, PipelineTokenScope, validate_rate
from accounts.services.tokens import (
    DEFAULT_EXPIRY_DAYS,
    MAX_EXPIRY_DAYS,
    pipeline_token_create,
    pipeline_token_revoke,
)
from audit.admin.governed import GovernedAdmin
from audit.ledger import ActionDenied

ISSUE_PERMISSION = "accounts.add_pipelinetoken"


class IssueTokenForm(forms.Form):
    """What ``pipeline_token_create`` needs; the service checks it all again and has the last word."""

    service_account = forms.CharField(
        label=_("Service account"),
        max_length=100,
        help_text=_("The pipeline's account, e.g. training-pipeline; svc-training-pipeline is created on first use."),
    )
    name = forms.CharField(label=_("What the token is for"), max_length=100)
    use_cases = forms.ModelMultipleChoiceField(
        label=_("Use cases"),
        queryset=PipelineToken.reach_model().objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The token reaches records of these use cases only."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=PipelineTokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("No scope approves or signs anything: approvals stay with people."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), min_value=1, max_value=MAX_EXPIRY_DAYS, initial=DEFAULT_EXPIRY_DAYS
    )
    rate_limit = forms.CharField(
        label=_("Rate limit"),
        max_length=20,
        required=False,
        validators=[validate_rate],
        help_text=_("Requests it may make, e.g. 600/min or 10000/hour; empty: the portal's default."),
    )


@admin.register(PipelineToken)
class PipelineTokenAdmin(GovernedAdmin):
    list_display = (
        "name",
        "prefix",
        "service_account",
        "scope_list",
        "rate",
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
        "reach",
        "scopes",
        "created_at",
        "created_by",
        "expires_at",
        "rate_limit",
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

    @admin.display(description=_("use cases"))
    def reach(self, obj: PipelineToken) -> str:
        return ", ".join(obj.use_cases.order_by("slug").values_list("slug", flat=True))

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: PipelineToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=_("rate limit"))
    def rate(self, obj: PipelineToken) -> str:
        return obj.rate_limit or f"{settings.API_TOKEN_RATE} ({_('default')})"

    @admin.display(description=_("state"))
    def state(self, obj: PipelineToken) -> str:
        if obj.revoked_at is not None:
            return str(_("revoked"))
        return str(_("expired")) if obj.expires_at <= timezone.now() else str(_("active"))

    @admin.display(description="")
    def revoke_link(self, obj: PipelineToken) -> str:
        if obj.revoked_at is not None:
            return ""
        url = reverse("admin:accounts_pipelinetoken_revoke", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Revoke..."))

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_pipelinetoken")

    def has_issue_permission(self, request: HttpRequest) -> bool:
        # The service's own test: the add permission (administrators hold it; no portal role does).
        return request.user.has_perm(ISSUE_PERMISSION)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_issue_token": self.has_issue_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("issue/", self.admin_site.admin_view(self.issue_view), name="accounts_pipelinetoken_issue"),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="accounts_pipelinetoken_revoke",
            ),
            *super().get_urls(),
        ]

    def issue_view(self, request: HttpRequest) -> HttpResponse:
        """Issue a token; the next page shows its secret, once."""
        if not self.has_issue_permission(request):
            refuse(request, attempted="pipeline_token_create", reason="Your account may not issue pipeline tokens.")
        form = IssueTokenForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                data = form.cleaned_data
                try:
                    issued = pipeline_token_create(
                        service_account_name=data["service_account"],
                        name=data["name"],
                        use_cases=data["use_cases"],
                        scopes=data["scopes"],
                        expires_in_days=data["expires_in_days"],
                        rate_limit=data["rate_limit"],
                        actor=request.user,
                    )
                except ValidationError as error:
                    attach_service_errors(form, error)
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 403
                else:
                    return self._issued_response(request, issued.token, issued.secret)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Issue a pipeline token"),
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/pipelinetoken/issue.html", context, status=status)

    def _issued_response(self, request: HttpRequest, token: PipelineToken, secret: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Token issued: copy it now"),
            "token": token,
            "secret": secret,
            "use_cases": self.reach(token),
        }
        response = TemplateResponse(request, "admin/accounts/pipelinetoken/issued.html", context)
        add_never_cache_headers(response)
        return response

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
            success_url=reverse("admin:accounts_pipelinetoken_changelist"),
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
