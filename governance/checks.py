"""System checks for identity and access: no published demo secrets in production, a shared cache for rate limits.

The IDs keep their ``governance.`` prefix, which deployments may name in ``SILENCED_SYSTEM_CHECKS``."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def demo_authenticator_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """A demo authenticator's secret is published: anyone can compute its codes. Outside DEBUG (a real
    install) one existing means an account whose second factor protects nothing."""
    if settings.DEBUG:
        return []
    from django.db import DatabaseError
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from governance.demo import DEMO_AUTHENTICATOR_NAME

    try:
        holders = sorted(
            TOTPDevice.objects.filter(name=DEMO_AUTHENTICATOR_NAME).values_list("user__username", flat=True)
        )
    except DatabaseError:
        return []  # no database yet (before migrate): nothing can hold a demo authenticator
    if not holders:
        return []
    return [
        Error(
            f"Demo authenticators with a published secret exist while DEBUG is false: {', '.join(holders[:20])}.",
            hint=(
                "Reset their second factor in the admin (Authenticators, 'Reset second factor'), or delete the "
                "demo logins; seed_demo adds demo authenticators only with DEBUG on."
            ),
            id="governance.E010",
        )
    ]


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
