"""Webhook settings: a Django setting of the same name wins, then the environment variable, then the default,
which suits production.

``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` defaults to ``DEBUG``: a local pilot may post to ``http://127.0.0.1``;
production posts only over HTTPS to public addresses (see ``webhooks.urls_policy``).
"""

import os
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")


def _setting(name: str, default: T, cast: Callable[[str], T]) -> T:
    if hasattr(settings, name):
        return getattr(settings, name)
    value = os.environ.get(name, "").strip()
    return cast(value) if value else default


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


def allow_private_networks() -> bool:
    return bool(_setting("WEBHOOK_ALLOW_PRIVATE_NETWORKS", settings.DEBUG, _flag))


def max_attempts() -> int:
    return int(_setting("WEBHOOK_MAX_ATTEMPTS", 8, int))


def retry_base_seconds() -> float:
    return float(_setting("WEBHOOK_RETRY_BASE_S", 30.0, float))


def retry_cap_seconds() -> float:
    return float(_setting("WEBHOOK_RETRY_MAX_S", 3600.0, float))


def timeout_seconds() -> float:
    return float(_setting("WEBHOOK_TIMEOUT_S", 5.0, float))


def backoff_seconds(attempts_made: int) -> float:
    """30 s, 1 min, 2 min, 4 min ... capped at an hour: eight attempts span a little over an hour."""
    return min(retry_base_seconds() * 2 ** (attempts_made - 1), retry_cap_seconds())
