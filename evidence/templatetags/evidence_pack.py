"""Filters of the evidence pack template."""

import json
from typing import Any

from django import template

from audit.canonical import to_jsonable

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Compact, sorted JSON, escaped by the template like any other text."""
    return json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False)


@register.filter
def get_item(mapping: dict | None, key: Any) -> Any:
    """``mapping[key]``, or None: a lookup by a variable key, which the template language has no syntax for."""
    return (mapping or {}).get(key)
