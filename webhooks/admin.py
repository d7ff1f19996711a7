"""Webhooks in the admin: subscriptions created and edited through the services (the signing secret is shown
once, on the page that follows creation or rotation), and the delivery log, read-only, with "send again"."""

from typing import Any

from cryptography.fernet import InvalidToken
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors
from accounts.admin.role_gated import RoleGatedAdmin
from accounts.authz import holds_approval_permission
from audit.admin.governed import ReadOnlyAuditAdmin
from audit.canonical import canonical_bytes
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from webhooks.choices import WebhookEvent
from webhooks.models import SyslogCursor, WebhookDelivery, WebhookSubscription
from webhooks.services import (
    webhook_delivery_redeliver,
    webhook_subscription_create,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)


class SubscriptionForm(forms.Form):
    """Plain input; the services validate (URL policy, known events, unique name) and say what to fix."""

    name = forms.CharField(label=_("Name"), max_length=200)
    url = forms.CharField(
        label=_("URL"),
        max_length=4000,
        help_text=_("The receiver's HTTPS address. Redirects are not followed; no user name or password."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    use_case = forms.ModelChoiceField(
        label=_("Only for use case"),
        # The use case model as the subscription names it: webhooks sit beside the domain, not on it.
        queryset=WebhookSubscription.use_case_model().objects.order_by("name"),
        required=False,
        help_text=_("Empty: events of every use case."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


def _readable_url(subscription: WebhookSubscription) -> str:
    """The URL for the edit form, or empty (to be entered again) if ``SECRET_KEY`` changed and it is unreadable."""
    try:
        return subscription.url
    except InvalidToken:
        return ""


def _secret_page(request: HttpRequest, model_admin: admin.ModelAdmin, subscription: WebhookSubscription, secret: str):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": subscription,
        "title": f"Signing secret of {subscription}",
        "secret": secret,
    }
    response = TemplateResponse(request, "admin/webhooks/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(RoleGatedAdmin):
    list_display = (
        "name",
        "destination",
        "event_list",
        "use_case",
        "active",
        "secret_fingerprint",
        "created_by",
        "created_at",
    )
    list_filter = ("active",)
    list_select_related = ("use_case", "created_by")
    search_fields = ("name",)
    show_full_result_count = False
    fields = (
        "name",
        "destination",
        "events",
        "use_case",
        "active",
        "secret_fingerprint",
        "secret_rotated_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description=_("URL"))
    def destination(self, subscription: WebhookSubscription) -> str:
        """Where it posts and the URL's fingerprint: the path of a chat webhook is its credential, so only the
        edit form, which a Security Reviewer alone opens, shows the whole URL."""
        return subscription.url_shown

    @admin.display(description=_("events"))
    def event_list(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.events)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="webhooks_webhooksubscription_rotate_secret",
            ),
            *super().get_urls(),
        ]

    def _form_page(self, request: HttpRequest, form: SubscriptionForm, *, title: str, status: int, **extra: Any):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self),
            "media": self.media + form.media,
            **extra,
        }
        return TemplateResponse(request, "admin/webhooks/subscription_form.html", context, status=status)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SubscriptionForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    subscription, secret = webhook_subscription_create(actor=request.user, **form.cleaned_data)
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 403
                except ValidationError as error:
                    attach_service_errors(form, error)
                else:
                    return _secret_page(request, self, subscription, secret)
        return self._form_page(request, form, title=str(_("Add webhook subscription")), status=status)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        subscription = get_object_or_404(WebhookSubscription.objects.select_related("use_case"), pk=object_id)
        if not self.has_change_permission(request, subscription):
            return super().change_view(request, object_id, form_url, extra_context)  # read-only, or 403
        initial = {
            "name": subscription.name,
            "url": _readable_url(subscription),
            "events": subscription.events,
            "use_case": subscription.use_case,
            "active": subscription.active,
        }
        form = SubscriptionForm(request.POST or None, initial=initial)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    webhook_subscription_update(subscription=subscription, actor=request.user, **form.cleaned_data)
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 403
                except ValidationError as error:
                    attach_service_errors(form, error)
                else:
                    messages.success(request, f"{form.cleaned_data['name']} saved.")
                    return HttpResponseRedirect(reverse("admin:webhooks_webhooksubscription_changelist"))
        return self._form_page(
            request,
            form,
            title=f"Change {subscription}",
            status=status,
            original=subscription,
            rotate_url=reverse("admin:webhooks_webhooksubscription_rotate_secret", args=[subscription.pk]),
            deliveries_url=reverse("admin:webhooks_webhookdelivery_changelist")
            + f"?subscription__id__exact={subscription.pk}",
        )

    def rotate_secret_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        subscription, secret = webhook_subscription_rotate_secret(subscription=subscription, actor=request.user)
        return _secret_page(request, self, subscription, secret)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAuditAdmin):
    list_display = (
        "id",
        "event",
        "subscription",
        "status",
        "attempt_count",
        "response_status_code",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "repeats",
    )
    list_filter = ("status", "event", "subscription")
    list_select_related = ("subscription",)
    search_fields = ("subscription__name",)
    date_hierarchy = "created_at"
    actions = ("redeliver",)
    fields = (
        "subscription",
        "event",
        "event_id",
        "ledger_sequence",
        "status",
        "attempt_count",
        "response_status_code",
        "last_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "redelivery_of",
        "requested_by",
        "body",
    )
    readonly_fields = fields

    @admin.display(description=_("redelivery of"))
    def repeats(self, delivery: WebhookDelivery) -> str:
        return f"#{delivery.redelivery_of_id}" if delivery.redelivery_of_id else ""

    @admin.display(description=_("body (as signed)"))
    def body(self, delivery: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", canonical_bytes(delivery.payload).decode())

    def get_actions(self, request: HttpRequest) -> dict:
        return admin.ModelAdmin.get_actions(self, request)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return holds_approval_permission(request.user, "webhooks.redeliver_webhookdelivery")

    @admin.action(description=_("Send the selected deliveries again"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent = 0
        for delivery in queryset:
            try:
                webhook_delivery_redeliver(delivery=delivery, actor=request.user)
            except ActionDenied as denial:
                self.message_user(request, f"#{delivery.pk}: {denial.reason}", messages.ERROR)
            else:
                sent += 1
        self.message_user(request, f"{sent} delivery(ies) queued again.", messages.SUCCESS)


@admin.register(SyslogCursor)
class SyslogCursorAdmin(ReadOnlyAuditAdmin):
    """How far the SIEM's syslog receiver has taken the ledger: a cursor that stands still means it is down."""

    list_display = ("destination", "last_sequence", "entries_behind", "acknowledged_at")
    fields = ("destination", "last_sequence", "acknowledged_at")

    @admin.display(description=_("entries not yet acknowledged"))
    def entries_behind(self, cursor: SyslogCursor) -> int:
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        return max(tail - cursor.last_sequence, 0)
