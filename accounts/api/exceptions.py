"""How refusals and bad input look to a pipeline: one JSON shape, the status that says what to do.

- ``GateBlocked`` (a gate refused): 409 ``{"detail": ..., "reasons": [...]}``; fix every reason, then retry.
- ``ActionDenied`` (who is asking, or the record's state): 403 ``{"detail": ...}``.
- a Django or DRF ``ValidationError``: 400 ``{"detail": ..., "errors": {field: [messages]}}``. The same shape
  answers 422 when every message has the code ``UNKNOWN_RECORD``: the request is well-formed (its schema calls
  it valid) but names a record the portal does not have, which the client fixes differently from a malformed one;
  and 409 when every message has the code ``CONFLICT``: it contradicts what is recorded (a run id another job
  holds), which retrying the same request cannot fix.
- a body above the limit: 413.
- a token above its request rate: 429 ``{"detail": ...}`` with ``Retry-After`` (seconds); nothing was done.
"""

import math
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from audit.ledger import ActionDenied

INVALID = "The request is invalid; see the messages of each field."
UNKNOWN = "The request names a record the portal does not have; see the messages of each field."
#: The code of a message that names a record the portal does not have (a ``ValidationError``'s ``code``).
UNKNOWN_RECORD = "unknown_record"
#: The code of a message saying the request contradicts what is recorded.
CONFLICT = "conflict"
REFUSALS = {
    UNKNOWN_RECORD: (UNKNOWN, status.HTTP_422_UNPROCESSABLE_ENTITY),
    CONFLICT: ("The request contradicts what is recorded; see the messages of each field.", status.HTTP_409_CONFLICT),
}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _as_field_errors(detail: Any) -> dict[str, list[str]]:
    """DRF's error detail as ``{field: [messages]}``, nested fields and list items flattened into the key
    (``job.name``, ``dataset_versions[0]``, as the OpenLineage intake names them), so every message is text."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for field, messages in detail.items():
            errors.update(_flattened(messages, str(field)))
        return errors
    messages = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(message) for message in messages]}


def _flattened(messages: Any, key: str) -> dict[str, list[str]]:
    if isinstance(messages, dict):  # a nested serializer's fields, or a list field's items by index
        errors: dict[str, list[str]] = {}
        for child, inner in messages.items():
            errors.update(_flattened(inner, f"{key}[{child}]" if isinstance(child, int) else f"{key}.{child}"))
        return errors
    if isinstance(messages, list) and any(isinstance(message, (dict, list)) for message in messages):
        errors = {}  # one entry per item of a list of objects; an item without errors is empty
        for index, inner in enumerate(messages):
            if inner:
                errors.update(_flattened(inner, f"{key}[{index}]"))
        return errors
    return {key: [str(message) for message in (messages if isinstance(messages, list) else [messages])]}


def _codes(codes: Any) -> list[str]:
    if isinstance(codes, dict):
        return [code for inner in codes.values() for code in _codes(inner)]
    if isinstance(codes, list):
        return [code for inner in codes for code in _codes(inner)]
    return [codes]


def _django_codes(error: DjangoValidationError) -> list[str]:
    errors = error.error_dict.values() if hasattr(error, "error_dict") else [error.error_list]
    return [inner.code for messages in errors for inner in messages]


def _refusal(errors: dict[str, list[str]], codes: list[str]) -> Response:
    detail, answer = INVALID, status.HTTP_400_BAD_REQUEST
    if codes and len(set(codes)) == 1 and codes[0] in REFUSALS:
        detail, answer = REFUSALS[codes[0]]
    return Response({"detail": detail, "errors": errors}, status=answer)


def django_validation_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": list(error.messages)}


def _throttled(wait: float, token: object) -> Response:
    seconds = max(1, math.ceil(wait))
    rate = getattr(token, "effective_rate", "")
    detail = (
        f"This token has sent more than its rate{f' ({rate})' if rate else ''} allows; "
        f"retry after {seconds} seconds. Nothing of this request was done."
    )
    return Response({"detail": detail}, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(seconds)})


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    reasons = getattr(exc, "reasons", None)
    if isinstance(exc, ActionDenied) and reasons is not None:
        return Response({"detail": exc.reason, "reasons": list(reasons)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ActionDenied):
        return Response({"detail": exc.reason}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        return _refusal(django_validation_errors(exc), _django_codes(exc))
    if isinstance(exc, exceptions.ValidationError):
        return _refusal(_as_field_errors(exc.detail), _codes(exc.get_codes()))
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": RequestTooLarge.default_detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, ObjectDoesNotExist):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        return _throttled(exc.wait, getattr(context.get("request"), "auth", None))
    return exception_handler(exc, context)
