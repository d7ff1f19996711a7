"""System checks for identity and access: no demo authenticator with a published secret outside a pilot.

The ID keeps the ``governance.`` prefix it was released with (deployments may silence it by that name)."""

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

    from accounts.demo import DEMO_AUTHENTICATOR_NAME

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
