"""The reusable decision pages every approval renders: "sign to approve" (the record, the meaning of the
signature, the re-authentication form) and "decide against, and say why"."""

from collections.abc import Callable, Sequence

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.forms import SignatureForm
from accounts.services.signatures import ReauthenticationFailed
from audit.canonical import record_digest
from audit.ledger import ActionDenied, record_denial
from audit.signatures import signatures_for

#: Called with the signer's credentials (``password``, ``username``); performs the approval service, which
#: signs inside its own transaction. Raises ``ActionDenied`` to refuse.
PerformSigned = Callable[[dict[str, str | None]], object]


def signing_view(
    request: HttpRequest,
    *,
    admin_site: AdminSite,
    record: models.Model,
    meaning: str,
    title: str,
    perform: PerformSigned,
    success_url: str,
    success_message: str,
    cancel_url: str,
    summary_template: str = "",
    refusal: str | None = None,
    who_can: Sequence[str] = (),
    on_behalf_of: AbstractBaseUser | None = None,
) -> HttpResponse:
    """GET shows the signing page; POST re-authenticates and performs. A refusal (wrong password, wrong
    role, wrong state) is shown on the page, with the form kept, and has already been recorded; a wrong
    password or code also counts towards the sign-in lockout, which then bars signing too.

    ``refusal`` is why this person may not sign now, from the same check the service refuses with (None: they
    may); ``who_can`` names the people who may. A refused person gets the reason and those names instead of
    the form, before typing a password; a post is refused (and recorded) without reading one.

    ``summary_template`` renders what is being signed (with ``original`` in its context), so the signer
    reads the content their signature is bound to on the page where they sign. ``on_behalf_of``: the away person
    the signer stands in for, whom the signature will name (the service's own answer, ``standing_in_for``)."""
    form = SignatureForm(request.POST or None, request=request, meaning=meaning)
    status = 200
    if refusal:
        status = refused_signing(request, record=record, meaning=meaning, refusal=refusal)
    elif request.method == "POST":
        if form.is_valid():
            try:
                with form.signing():
                    perform(form.credentials())
            except ActionDenied as denial:
                if isinstance(denial, ReauthenticationFailed):
                    form.reauthentication_failed()
                form.add_error(None, denial.reason)
                status = 403
            else:
                form.mark_session_signed()
                messages.success(request, success_message)
                return HttpResponseRedirect(success_url)
        else:
            status = 403 if form.has_error(NON_FIELD_ERRORS, "locked_out") else 400
    context = {
        **admin_site.each_context(request),
        "opts": record._meta,
        "original": record,
        "title": title,
        "form": form,
        "meaning": meaning,
        "record_digest": record_digest(record),
        "signatures": signatures_for(record),
        "cancel_url": cancel_url,
        "summary_template": summary_template,
        "refusal": refusal,
        "who_can": who_can,
        "on_behalf_of": on_behalf_of,
    }
    return TemplateResponse(request, "admin/accounts/sign.html", context, status=status)


def refused_signing(request: HttpRequest, *, record: models.Model, meaning: str, refusal: str) -> int:
    """For a signing page shown to someone who may not sign: a post is recorded as refused (no password is read,
    so nothing counts towards a lockout). Returns the page's status."""
    if request.method == "POST":
        with transaction.atomic():
            record_denial(actor=request.user, attempted=f"sign: {meaning}", obj=record, reason=refusal)
    return 403


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Why?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)


def reason_view(
    request: HttpRequest,
    *,
    admin_site: AdminSite,
    record: models.Model,
    title: str,
    submit_label: str,
    perform: Callable[[str], object],
    success_url: str,
    success_message: str,
) -> HttpResponse:
    """The reusable "decide against, and say why" page (reject a revision, return requirements, request
    changes on a dataset version). ``perform`` is called with the reason; a refusal or a service's
    validation error is shown on the page with the reason kept."""
    form = ReasonForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                perform(form.cleaned_data["reason"])
            except ActionDenied as denial:
                form.add_error(None, denial.reason)
                status = 403
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, success_message)
                return HttpResponseRedirect(success_url)
    context = {
        **admin_site.each_context(request),
        "opts": record._meta,
        "original": record,
        "title": title,
        "form": form,
        "submit_label": submit_label,
    }
    return TemplateResponse(request, "admin/accounts/reason.html", context, status=status)
