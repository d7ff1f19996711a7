"""Values as people read them on read-only pages: lists and mappings as text, not JSON; sizes in KB, MB, GB."""

from typing import Any

from django.template.defaultfilters import filesizeformat


def readable_json(value: Any) -> str:
    """``EU, UK`` for ``["EU", "UK"]``; ``torch 2.3, peft 0.11`` for ``{"torch": "2.3", "peft": "0.11"}``."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {readable_json(item)}" for key, item in value.items()) or "\u2013"
    if isinstance(value, list | tuple):
        return ", ".join(readable_json(item) for item in value) or "\u2013"
    return "\u2013" if value is None else str(value)


def readable_size(size_bytes: int | None) -> str:
    """``1.2 MB``, with the exact figure after it for whoever checks it against a manifest."""
    if size_bytes is None:
        return "\u2013"
    return f"{filesizeformat(size_bytes)} ({size_bytes:,} bytes)"
