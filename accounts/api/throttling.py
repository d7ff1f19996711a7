"""Per-token request rates for the pipeline API: above its rate a token gets 429 with ``Retry-After``.

A token's rate is its own ``rate_limit`` or, when it has none, the portal's ``API_TOKEN_RATE`` (``600/min``).
Requests are counted in fixed windows of the rate's period, with one atomic increment in the default cache, so
every gunicorn worker adds to the same counter when that cache is Redis (``CACHE_URL``). DRF's own throttles
read a list of timestamps and write it back, which loses counts when two workers answer one token at once.
A fixed window lets a token send up to twice its rate across a window boundary; the rate is a guard against a
runaway pipeline, not a billing meter, so that is the price of counting with ``add`` and ``incr`` instead of a
read-modify-write. For the same reason the throttle fails open: when the cache cannot be reached, the request is
served and the outage logged, rather than the whole API answering 500 because a guard is down.

Requests without a token (people signed in to the admin, reading the schema and docs) are not counted here.
"""

import logging
import math
import time
from typing import TYPE_CHECKING

from django.core.cache import cache as default_cache
from rest_framework.throttling import BaseThrottle

from accounts.models import PipelineToken

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # DRF imports this module while ``rest_framework.views`` itself is loading
    from rest_framework.request import Request
    from rest_framework.views import APIView

#: The period of a rate by the first letter of its name (``s``, ``min``, ``hour``, ``day``), as DRF reads it.
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` -> ``(600, 60)``: requests allowed, and the period in seconds."""
    count, period = rate.split("/")
    return int(count), PERIOD_SECONDS[period[0]]


class PipelineTokenRateThrottle(BaseThrottle):
    """Counts each token's requests per window of its rate's period in the shared cache."""

    cache = default_cache
    key_prefix = "throttle:token"
    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        token = request.auth
        if not isinstance(token, PipelineToken):
            return True
        limit, period = parse_rate(token.effective_rate)
        now = self.timer()
        window = int(now // period)
        # The prefix is unique and never reused, unlike a primary key after a rolled-back insert.
        try:
            count = self._increment(f"{self.key_prefix}:{token.prefix}:{period}:{window}", timeout=period + 1)
        except Exception:  # any cache backend's connection error; redis-py's do not derive from one base
            logger.exception("API rate counter unavailable; request from token %s served unthrottled", token.prefix)
            return True
        if count <= limit:
            return True
        self.retry_after = max(1, math.ceil((window + 1) * period - now))
        return False

    def _increment(self, key: str, *, timeout: int) -> int:
        # ``add`` creates the counter only if it is missing; ``incr`` is atomic in Redis. A counter that expires
        # between the two is simply created again.
        for _attempt in range(2):
            self.cache.add(key, 0, timeout=timeout)
            try:
                return self.cache.incr(key)
            except ValueError:
                continue
        return self.cache.incr(key)

    def wait(self) -> int | None:
        return self.retry_after
