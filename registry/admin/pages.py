"""What every registry button shares: who may press it, the one-click (POST) action that calls a service and
comes back with a message, and the small form page for actions that need more than a reason."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin.actions import attach_service_errors
from accounts.services.signatures import ReauthenticationFailed, record_failed_reauthentication, signing_locked_out
from audit.ledger import ActionDenied, record_denial
from registry.errors import GateBlocked


def change_url(obj: models.Model) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def denial_messages(denial: ActionDenied) -> list[str]:
    """Every reason a refusal gives: a blocked gate lists each, anything else has one."""
    return list(denial.reasons) if isinstance(denial, GateBlocked) else [denial.reason]


def post_action(
    request: HttpRequest, *, record: models.Model, perform: Callable[[], Any], success_message: str
) -> HttpResponse:
    """A one-click button: POST only; the service runs once and the record's page says what happened. A
    refusal or an invalid state comes back as error messages, and nothing changed."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        perform()
    except ActionDenied as denial:
        for problem in denial_messages(denial):
            messages.error(request, problem)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
    else:
        messages.success(request, success_message)
    return HttpResponseRedirect(change_url(record))


def form_page(
    request: HttpRequest,
    *,
    model_admin: admin.ModelAdmin,
    record: models.Model,
    form: forms.Form,
    title: str,
    perform: Callable[[dict[str, Any]], Any],
    success_message: str,
    submit_label: str,
    intro: str = "",
) -> HttpResponse:
    """GET shows ``form``; a valid POST calls ``perform(cleaned_data)`` (one service call) and goes back to the
    record's page. Invalid input is a 400 and a refusal a 409, each with the form as typed and the reason on it."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                perform(form.cleaned_data)
            except ActionDenied as denial:
                for problem in denial_messages(denial):
                    form.add_error(None, problem)
                status = 409
            except ValidationError as error:
                attach_service_errors(form, error)
            else:
                messages.success(request, success_message)
                return HttpResponseRedirect(change_url(record))
    return form_page_response(
        request,
        model_admin=model_admin,
        record=record,
        form=form,
        title=title,
        submit_label=submit_label,
        cancel_url=change_url(record),
        intro=intro,
        status=status,
    )


def form_page_response(
    request: HttpRequest,
    *,
    model_admin: admin.ModelAdmin,
    form: forms.Form,
    title: str,
    submit_label: str,
    cancel_url: str,
    record: models.Model | None = None,
    intro: str = "",
    status: int = 200,
) -> TemplateResponse:
    """The form page itself: ``form`` under ``title`` and ``intro``, its errors, the submit button and a way back;
    the breadcrumbs name ``record`` when the page acts on one (a page that creates a record has none yet)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": record,
        "title": title,
        "form": form,
        "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=model_admin),
        "submit_label": submit_label,
        "cancel_url": cancel_url,
        "intro": intro,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/registry/form_page.html", context, status=status)


User = get_user_model()


class BreakGlassForm(forms.Form):
    """An emergency override: why, and the second person (a Risk Officer) who signs it there and then."""

    justification = forms.CharField(
        label="Justification",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        help_text="Why this cannot wait for the conditions to hold (at least 30 characters). Every evidence pack "
        "that covers this change shows it.",
    )
    approver = forms.CharField(label="Second person (Risk Officer) username", max_length=150)
    approver_password = forms.CharField(
        label="Second person's password",
        help_text="A second person who signs in through single sign-on enters a code from their authenticator app.",
        strip=False,
        widget=forms.PasswordInput,
        max_length=4096,
    )


def approver_reauthentication_counted(
    request: HttpRequest, perform: Callable[[dict[str, Any]], Any]
) -> Callable[[dict[str, Any]], Any]:
    """``perform`` of a break-glass page, held to the sign-in lockout like every signing page.

    The second person re-authenticates here outside ``SignatureForm``, so this page does what that form does:
    an approver whom wrong passwords or codes have locked out is refused, and a wrong credential counts towards
    that approver's lockout. Otherwise the page would let anyone guess a Risk Officer's password without limit.
    """

    def counted(data: dict[str, Any]) -> Any:
        approver = User._default_manager.filter(username=data["approver"]).first()
        if approver is not None and signing_locked_out(request, approver):
            reason = f"{approver} is locked out after too many wrong passwords or codes; try again later."
            record_denial(actor=request.user, attempted="break glass", reason=reason)
            raise ActionDenied(reason, actor=request.user, attempted="break glass")
        try:
            return perform(data)
        except ReauthenticationFailed as failure:
            if failure.actor is not None:
                record_failed_reauthentication(request, failure.actor)
            raise

    return counted


class RollbackBreakGlassForm(BreakGlassForm):
    reason = forms.CharField(label="Why roll back", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["reason", "justification", "approver", "approver_password"]
