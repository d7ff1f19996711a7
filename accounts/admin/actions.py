"""What every action page of the apps shares: who may press a button, the recorded refusal of someone who may
not, and a service's errors placed on the form that called it."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest

from accounts.authz import holds_approval_permission
from audit.ledger import record_denial


def may(request: HttpRequest, permission: str) -> bool:
    """Whether the person's role grants ``permission`` (being an administrator does not)."""
    return holds_approval_permission(request.user, permission)


def refuse(request: HttpRequest, *, attempted: str, obj: models.Model | None = None, reason: str = "") -> None:
    """403 for someone whose role does not allow the action; the 403 page shows ``reason``, or what the page
    needs when there is none. A posted attempt is evidence, so it is recorded."""
    if request.method == "POST":
        with transaction.atomic():
            record_denial(
                actor=request.user, attempted=attempted, obj=obj, reason=reason or "Your roles do not allow this."
            )
    raise PermissionDenied(reason)


def attach_service_errors(form: forms.Form, error: ValidationError, field: str | None = None) -> None:
    """A service's errors keyed by a form field go beside that field; the rest to ``field``, or above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(field, error.messages)
        return
    for key, problems in error.message_dict.items():
        if key in form.fields:
            form.add_error(key, problems)
        else:
            form.add_error(None if key == NON_FIELD_ERRORS else field, problems)
