"""The discussion thread every reviewed record's page shows (a dataset version, a change ticket): the comments,
oldest first, and a form to add one. The page's admin adds a ``comment/`` URL calling ``comment_view`` and puts
``discussion_context`` in its change form's context."""

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors
from accounts.models.discussion import COMMENT_MAX_LENGTH
from accounts.services.comments import comment_add, may_comment, thread_of
from audit.ledger import ActionDenied


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Add to the discussion"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX_LENGTH}),
        help_text=_("Kept in the audit ledger; a comment changes nothing about the record or its approvals."),
    )


def discussion_context(request: HttpRequest, record: models.Model, comment_url: str) -> dict:
    return {
        "thread": thread_of(record),
        "comment_form": CommentForm(),
        "comment_url": comment_url,
        "may_comment": may_comment(request.user, record),
    }


def comment_view(request: HttpRequest, *, admin_site: AdminSite, record: models.Model, back_url: str) -> HttpResponse:
    """POST adds the comment and returns to the record's page, at its thread; a refused or malformed comment is
    shown again on a page of its own with its text kept (400, or 403 for someone who may not view the record)."""
    if request.method != "POST":
        return HttpResponseRedirect(f"{back_url}#discussion")
    form = CommentForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            comment_add(target=record, author=request.user, text=form.cleaned_data["text"])
        except ActionDenied as denial:
            form.add_error(None, denial.reason)
            status = 403
        except ValidationError as error:
            attach_service_errors(form, error, field="text")
        else:
            messages.success(request, _("Your comment is added to the discussion."))
            return HttpResponseRedirect(f"{back_url}#discussion")
    context = {
        **admin_site.each_context(request),
        "opts": record._meta,
        "original": record,
        "title": _("Comment on %s") % record,
        "comment_form": form,
        "comment_url": request.path,
        "cancel_url": back_url,
    }
    return TemplateResponse(request, "admin/accounts/comment.html", context, status=status)
