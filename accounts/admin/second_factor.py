"""Signing in with two factors, in the admin: the password step, then the authenticator (enrolled on the first
sign-in) or a backup code; the lockout page; and the admin pages that reset a lost factor or lift a lockout.

Nobody is signed in until both factors have passed: the password step only remembers, in the session and for
a few minutes, who is to be asked for the second factor. So a password alone opens no session at all, and
``PortalAdminSite.has_permission`` additionally requires the session to be verified.
"""

import math
import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin.signing import reason_view
from accounts.services.second_factor import (
    AUTHENTICATOR_CODE,
    MAX_CODE_LENGTH,
    Verification,
    authenticator_of,
    backup_codes_renew,
    enrolment_authenticator,
    normalise_code,
    qr_code_svg,
    second_factor_enrol,
    second_factor_reset,
    second_factor_verify,
    secret_text,
)
from accounts.sign_in import lockout_lift, may_lift_lockouts
from audit.admin.export import ListExportMixin
from audit.ledger import ActionDenied

#: The session key of a sign-in whose password has passed and whose second factor is awaited.
PENDING_KEY = "accounts.services.second_factor.pending"
#: In the pending sign-in: the authenticator being set up in this session (see ``enrolment_authenticator``).
ENROLMENT_DEVICE_KEY = "enrolment_device"
SUPERSEDED_MESSAGE = _(
    "The set-up of your authenticator was started again in another sign-in, so this page shows a new key. "
    "Add the new key to your app and enter its code."
)


# --- The pending sign-in -------------------------------------------------------------------------------------


def begin_second_factor(request: HttpRequest, user: AbstractBaseUser, next_url: str) -> None:
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "since": time.time(),
        "next": next_url,
    }


def _keep_enrolment_device(request: HttpRequest, pending: dict[str, Any], device: TOTPDevice) -> dict[str, Any]:
    """Tie the authenticator being set up to this pending sign-in: only this session confirms its secret."""
    pending = {**pending, ENROLMENT_DEVICE_KEY: device.pk}
    request.session[PENDING_KEY] = pending
    return pending


def pending_sign_in(request: HttpRequest) -> tuple[AbstractBaseUser, dict[str, Any]] | None:
    """The person whose password passed a moment ago, if that is recent and they may still sign in."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > settings.SECOND_FACTOR_PENDING_SECONDS:
        return None
    user = get_user_model()._default_manager.filter(pk=pending.get("user")).first()
    if user is None or not user.is_active or not user.is_staff:
        return None
    return user, pending


def _complete_sign_in(request: HttpRequest, user: AbstractBaseUser, pending: dict[str, Any], device: object) -> str:
    """Both factors passed: now the person is signed in, with a session verified by ``device``."""
    del request.session[PENDING_KEY]
    auth_login(request, user, backend=pending["backend"])
    otp_login(request, device)
    return pending["next"]


def _restart(request: HttpRequest, admin_site: AdminSite) -> HttpResponse:
    request.session.pop(PENDING_KEY, None)
    messages.info(request, _("Please sign in with your username and password."))
    return HttpResponseRedirect(reverse("admin:login", current_app=admin_site.name))


def _locked_out(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse | None:
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_allowed(request, credentials):
        return None
    request.session.pop(PENDING_KEY, None)
    return locked_out_response(request, None, credentials)


def _failed_code(request: HttpRequest, user: AbstractBaseUser, form: forms.Form, verification: Verification) -> None:
    """A wrong or throttled code counts as a failed sign-in (axes and the ledger) and says when to retry."""
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username(), "step": "second factor"}, request=request
    )
    wait = None
    if verification.retry_at is not None:
        wait = max(1, math.ceil((verification.retry_at - timezone.now()).total_seconds()))
    if verification.throttled:
        form.add_error("code", _("Too many wrong codes: try again in %(seconds)s s.") % {"seconds": wait})
    elif wait is not None:
        message = _("That code is not correct (or was used already). Try again in %(seconds)s s.")
        form.add_error("code", message % {"seconds": wait})
    else:
        form.add_error("code", _("That code is not correct (or was used already)."))


# --- Pages -------------------------------------------------------------------------------------------------


class PasswordStepView(LoginView):
    """The admin's login form; on success it asks for the second factor instead of signing in."""

    admin_site: AdminSite | None = None

    def form_valid(self, form: forms.Form) -> HttpResponse:
        user = form.get_user()
        begin_second_factor(self.request, user, self.get_success_url())
        step = "admin:second_factor" if authenticator_of(user) else "admin:second_factor_enrol"
        return HttpResponseRedirect(reverse(step, current_app=self.admin_site.name))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=MAX_CODE_LENGTH + 4,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
    )


def _page(request: HttpRequest, admin_site: AdminSite, template: str, context: dict, status: int = 200):
    context = {**admin_site.each_context(request), **context}
    return TemplateResponse(request, f"admin/second_factor/{template}", context, status=status)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def verify_view(request: HttpRequest, admin_site: AdminSite) -> HttpResponse:
    """Second step: a code from the authenticator app, or a backup code."""
    found = pending_sign_in(request)
    if found is None:
        return _restart(request, admin_site)
    user, pending = found
    if authenticator_of(user) is None:
        return HttpResponseRedirect(reverse("admin:second_factor_enrol", current_app=admin_site.name))
    if (refused := _locked_out(request, user)) is not None:
        return refused
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            verification = second_factor_verify(user=user, code=form.cleaned_data["code"])
            if verification.ok:
                return HttpResponseRedirect(_complete_sign_in(request, user, pending, verification.device))
            _failed_code(request, user, form, verification)
            status = 403
    context = {"title": _("Second factor"), "form": form, "person": user}
    return _page(request, admin_site, "verify.html", context, status)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def enrol_view(request: HttpRequest, admin_site: AdminSite) -> HttpResponse:
    """First sign-in: set up the authenticator app, confirm it with a code, receive the backup codes once."""
    found = pending_sign_in(request)
    if found is None:
        return _restart(request, admin_site)
    user, pending = found
    if authenticator_of(user) is not None:
        return HttpResponseRedirect(reverse("admin:second_factor", current_app=admin_site.name))
    if (refused := _locked_out(request, user)) is not None:
        return refused
    device = enrolment_authenticator(user, device_pk=pending.get(ENROLMENT_DEVICE_KEY))
    superseded = device.pk != pending.get(ENROLMENT_DEVICE_KEY)
    if superseded:
        pending = _keep_enrolment_device(request, pending, device)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if superseded:
            form.add_error("code", SUPERSEDED_MESSAGE)  # the code typed was for a secret this page no longer has
            status = 409
        elif form.is_valid():
            verification = second_factor_enrol(user=user, device=device, code=form.cleaned_data["code"])
            if verification.ok:
                next_url = _complete_sign_in(request, user, pending, verification.device)
                context = {"title": _("Your backup codes"), "codes": verification.device.backup_codes}
                return _page(request, admin_site, "backup_codes.html", {**context, "next_url": next_url})
            if verification.superseded:
                return HttpResponseRedirect(reverse("admin:second_factor_enrol", current_app=admin_site.name))
            _failed_code(request, user, form, verification)
            status = 403
    context = {
        "title": _("Set up your second factor"),
        "form": form,
        "person": user,
        "qr_code": qr_code_svg(device),
        "secret": secret_text(device),
    }
    return _page(request, admin_site, "enrol.html", context, status)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def backup_codes_view(request: HttpRequest, admin_site: AdminSite) -> HttpResponse:
    """A signed-in person replaces their backup codes (the old ones stop working); shown once. A current code
    from their authenticator app is asked for first, so a session left open on someone else's screen cannot
    mint codes that sign in later."""
    form = CodeForm(request.POST or None)
    context = {"title": _("Your backup codes"), "codes": None, "form": form, "submit_label": _("Make new backup codes")}
    if request.method != "POST":
        return _page(request, admin_site, "backup_codes.html", context)
    if not form.is_valid():
        return _page(request, admin_site, "backup_codes.html", context, status=400)
    code = normalise_code(form.cleaned_data["code"])
    verification = Verification(device=None)
    if AUTHENTICATOR_CODE.match(code):  # the app's code, not a backup code: those are what is being replaced
        verification = second_factor_verify(user=request.user, code=code)
    if not verification.ok:
        form.add_error("code", _("Enter the current code from your authenticator app."))
        return _page(request, admin_site, "backup_codes.html", context, status=403)
    try:
        codes = backup_codes_renew(user=request.user)
    except ActionDenied as denial:
        raise PermissionDenied(denial.reason) from denial
    context = {"title": _("Your backup codes"), "codes": codes, "next_url": reverse("admin:index")}
    return _page(request, admin_site, "backup_codes.html", context)


def locked_out_response(request: HttpRequest, original_response: object, credentials: dict | None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the page a locked-out sign-in gets (HTTP 429), saying what to do."""
    from django.contrib.admin import site

    cool_off = get_cool_off(request)
    context = {
        **site.each_context(request),
        "title": _("Sign-in locked"),
        "failure_limit": get_failure_limit(request, credentials),
        "cool_off_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    return render(request, "admin/second_factor/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


# --- Admin: reset a lost factor, lift a lockout --------------------------------------------------------------


class SecurityOfficerOnly:
    """Visible to Security Reviewers and administrators only; nothing is added or edited by hand."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_lift_lockouts(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_lift_lockouts(request.user)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_security_permission(self, request: HttpRequest) -> bool:
        return may_lift_lockouts(request.user)


class AuthenticatorAdmin(SecurityOfficerOnly, ListExportMixin, admin.ModelAdmin):
    """Who has enrolled an authenticator; "Reset second factor" for a person who lost theirs. The secret is
    never shown."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    list_filter = ("confirmed",)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = fields
    actions = ("reset_second_factor",)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/reset/",
                self.admin_site.admin_view(self.reset_view),
                name="otp_totp_totpdevice_reset",
            ),
            *super().get_urls(),
        ]

    def reset_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Reset the second factor of the person owning this authenticator, saying why (the reason is in the
        ledger). The service refuses resetting one's own factor and, for all but administrators, an
        administrator's."""
        device = get_object_or_404(TOTPDevice.objects.select_related("user"), pk=object_id)
        if not self.has_security_permission(request):
            raise PermissionDenied
        person = device.user
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=device,
            title=f"Reset the second factor of {person.get_username()}",
            submit_label=str(_("Reset the second factor")),
            perform=lambda reason: second_factor_reset(user=person, actor=request.user, reason=reason),
            success_url=reverse("admin:otp_totp_totpdevice_changelist", current_app=self.admin_site.name),
            success_message=f"Second factor of {person.get_username()} reset; they enrol again at their next sign-in.",
        )

    @admin.action(description=_("Reset second factor (enrol again at next sign-in)"), permissions=["security"])
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> HttpResponse | None:
        """One person at a time, on the page that asks why."""
        devices = list(queryset[:2])
        if len(devices) != 1:
            self.message_user(request, _("Reset one person's second factor at a time."), messages.ERROR)
            return None
        url = reverse("admin:otp_totp_totpdevice_reset", args=[devices[0].pk], current_app=self.admin_site.name)
        return HttpResponseRedirect(url)


class LockoutAdmin(SecurityOfficerOnly, ListExportMixin, admin.ModelAdmin):
    """Failed sign-ins per username and address; "Lift lockout" lets a locked-out person try again."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "path_info")
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"
    fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info")
    readonly_fields = fields
    actions = ("lift_lockout",)

    @admin.action(description=_("Lift lockout"), permissions=["security"])
    def lift_lockout(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        for attempt in queryset:
            try:
                lockout_lift(attempt=attempt, actor=request.user)
            except ActionDenied as denial:
                self.message_user(request, denial.reason, messages.ERROR)
                return
        self.message_user(request, _("Lockout lifted."))


def register(site: AdminSite) -> None:
    """The device and lockout admins, instead of django-otp's (which can show secrets and codes) and axes'
    (which deletes attempts without a trace)."""
    for model in (TOTPDevice, StaticDevice, AccessAttempt):
        if site.is_registered(model):
            site.unregister(model)
    site.register(TOTPDevice, AuthenticatorAdmin)
    site.register(AccessAttempt, LockoutAdmin)
