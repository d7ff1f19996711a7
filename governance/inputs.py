"""Bounds on the free-form JSON that pipelines send (configurations, hyperparameters, metrics, parameters).

Such documents are configuration and figures, not data: they are kept in the database and in the ledger, so
each is bounded in size and nesting, and must be plain JSON, before anything is written.
"""

from typing import Any

from django.core.exceptions import ValidationError

from audit.canonical import canonical_bytes, json_depth

DEFAULT_MAX_BYTES = 16 * 1024
DEFAULT_MAX_DEPTH = 8


def bounded_json(
    value: Any,
    *,
    field: str,
    label: str,
    kind: type = dict,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """``value`` if it is a JSON ``kind`` (object or list) within the bounds, else a ``ValidationError`` on
    ``field`` that says what to fix."""
    noun = "a JSON object (name: value)" if kind is dict else "a JSON list"
    if not isinstance(value, kind):
        raise ValidationError({field: f"{label} must be {noun}."})
    if json_depth(value, stop_after=max_depth) > max_depth:
        raise ValidationError({field: f"{label} is nested deeper than {max_depth} levels."})
    try:
        size = len(canonical_bytes(value))
    except (TypeError, ValueError) as error:
        raise ValidationError({field: f"{label} is not plain JSON: {error}"}) from None
    if size > max_bytes:
        raise ValidationError(
            {
                field: f"{label} takes {size} bytes; the limit is {max_bytes}. Store large documents as a file "
                "and reference its digest."
            }
        )
    return value
