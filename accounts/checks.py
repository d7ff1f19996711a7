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


@register(Tags.security, deploy=True)
def superusers_with_roles_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """An administrator (superuser) can change anything in the admin, so it must not also be a person whose
    signature counts. The role grant services refuse to give one a role, and approvals ignore an administrator's
    groups; this names the accounts that still carry a role group or grant (from before role grants, or made
    superuser afterwards) so that they are cleaned up."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError
    from django.db.models import Q

    from accounts.choices import HOLDING_STATES, Role

    try:
        holders = sorted(
            get_user_model()
            .objects.filter(is_superuser=True)
            .filter(Q(groups__name__in=Role.values) | Q(role_grants__state__in=HOLDING_STATES))
            .values_list("username", flat=True)
            .distinct()
        )
    except DatabaseError:
        return []  # no database yet (before migrate): nobody holds anything
    if not holders:
        return []
    return [
        Error(
            f"Administrators (superusers) hold a portal role: {', '.join(holders[:20])}.",
            hint=(
                "An administrator holds no portal role and approves nothing. Give the person a separate account "
                "without administrator rights and request the role for it; remove the administrator's role groups "
                "(Role grants, 'Ask to remove the role', or with the database) or its superuser status."
            ),
            id="accounts.E001",
        )
    ]
