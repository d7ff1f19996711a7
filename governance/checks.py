"""System checks for the pipeline API: a shared cache for the tokens' rate limits.

The IDs keep their ``governance.`` prefix, which deployments may name in ``SILENCED_SYSTEM_CHECKS``."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def shared_cache_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """Production runs several processes: with an in-process cache each would count a token's requests alone, and
    the API's rate limit would silently be the configured rate times the number of workers."""
    if settings.DEBUG or getattr(settings, "CACHE_URL", ""):
        return []
    return [
        Error(
            "CACHE_URL is not set: each process would keep its own cache, so pipeline tokens' rate limits would "
            "be multiplied by the number of web workers.",
            hint="Set CACHE_URL to a Redis database shared by every process, e.g. redis://redis:6379/1.",
            id="governance.E011",
        )
    ]
