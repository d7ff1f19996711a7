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
