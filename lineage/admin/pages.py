"""The one form page every lineage action uses: a form, a service called with what it cleaned, the service's
refusals and errors shown on the form with everything typed kept."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from accounts.admin.actions import attach_service_errors
from audit.ledger import ActionDenied


def form_page(
    request: HttpRequest,
    *,
    model_admin: admin.ModelAdmin,
    form: forms.Form,
    title: str,
    perform: Callable[[dict[str, Any]], Any],
    success: Callable[[Any], tuple[str, str]],
    cancel_url: str,
    original: models.Model | None = None,
    submit_label: str = "Save",
    error_field: str | None = None,
    intro: str = "",
    closed: str = "",
) -> HttpResponse:
    """GET shows ``form``; a valid POST calls ``perform(cleaned_data)`` (one service call, one transaction) and
    redirects to ``success(result)`` -> (url, message). Invalid input is a 400, a refusal by the service (the
    record's state) a 409, both with the form as it was typed and the reason on it. ``closed`` says why the
    record takes no more changes: the page shows it instead of the form (a post still reaches the service,
    which refuses and records the attempt)."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                result = perform(form.cleaned_data)
            except ActionDenied as denial:
                form.add_error(None, denial.reason)
                status = 409
            except ValidationError as error:
                attach_service_errors(form, error, error_field)
            except IntegrityError:
                form.add_error(None, "Someone else saved a conflicting record at the same moment; nothing was saved.")
                status = 409
            else:
                url, message = success(result)
                messages.success(request, message)
                return HttpResponseRedirect(url)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": original,
        "title": title,
        "form": form,
        "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=model_admin),
        "submit_label": submit_label,
        "cancel_url": cancel_url,
        "intro": intro,
        "closed": closed,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/lineage/form_page.html", context, status=status)
