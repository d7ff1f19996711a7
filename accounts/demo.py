"""The demo organisation's people: one login per role (two risk officers, so change control can be shown) plus
an administrator, all sharing one password, each with a demo authenticator when ``DEBUG`` is on.

Everything is created only if missing, so running the seed twice changes nothing.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import Role, RoleGrantBasis
from accounts.services.role_grants import role_grant_record
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction

#: Who the demo logins' role grants are recorded as made by.
DEMO_SEED_ACTOR = "system:seed_demo"
DEFAULT_DEMO_PASSWORD = "governance-demo-2026"  # noqa: S105 - printed to the console by design

#: DEMO ONLY. The demo logins' authenticator secrets are derived from their usernames and this published phrase,
#: so that anyone trying the demo can pass the second factor (``manage.py demo_code USER`` prints the code).
#: A secret anyone can compute protects nothing: these devices are named so in the admin, are given only to the
#: logins a DEBUG seed creates, and ``check --deploy`` fails while one exists (accounts.checks).
DEMO_AUTHENTICATOR_PHRASE = "llm-governance-portal demo authenticator (published, never for production)"
DEMO_AUTHENTICATOR_NAME = "Demo authenticator (published secret: demo only)"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    first_name: str
    last_name: str
    role: Role | None  # None: the administrator


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("mleng", "Maya", "Engel", Role.ML_ENGINEER),
    DemoLogin("steward", "Sam", "Stewart", Role.DATA_STEWARD),
    DemoLogin("legal", "Lena", "Galloway", Role.LEGAL_REVIEWER),
    DemoLogin("security", "Sergei", "Kuznetsov", Role.SECURITY_REVIEWER),
    DemoLogin("compliance", "Chloe", "Pereira", Role.COMPLIANCE_REVIEWER),
    DemoLogin("risk", "Rafael", "Iskander", Role.RISK_OFFICER),
    DemoLogin("risk2", "Rosa", "Lindqvist", Role.RISK_OFFICER),
    DemoLogin("product", "Priya", "Okafor", Role.PRODUCT_OWNER),
    DemoLogin("cab", "Carl", "Abernathy", Role.CHANGE_ADVISORY_BOARD),
    DemoLogin("auditor", "Aud", "Itor", Role.AUDITOR),
    DemoLogin("admin", "Ada", "Minh", None),
)


@transaction.atomic
def seed_demo_logins(*, password: str) -> list[str]:
    """Create the missing demo users; returns the usernames created. Existing users are left untouched,
    whatever their password, so a seed never undoes what someone changed on purpose."""
    user_model = get_user_model()
    created = []
    for login in DEMO_LOGINS:
        user, was_created = user_model.objects.get_or_create(
            username=login.username,
            defaults={
                "first_name": login.first_name,
                "last_name": login.last_name,
                "email": f"{login.username}@demo.example",
                "is_staff": True,
                "is_superuser": login.role is None,
            },
        )
        if was_created:
            user.set_password(password)
            user.save(update_fields=["password"])
            if login.role is not None:
                with acting_as(actor_name=DEMO_SEED_ACTOR):
                    role_grant_record(
                        user=user, role=login.role, basis=RoleGrantBasis.PROVISIONED, reason="Demo login of this role."
                    )
            created.append(login.username)
    return created


def demo_authenticator_key(username: str) -> str:
    """The published demo secret of ``username`` (hex, 20 bytes, as django-otp stores it)."""
    return hashlib.sha256(f"{DEMO_AUTHENTICATOR_PHRASE}:{username}".encode()).hexdigest()[:40]


@transaction.atomic
def seed_demo_authenticators(usernames: list[str]) -> list[str]:
    """Give the demo logins ``usernames`` (those the seed has just created) the demo authenticator with its
    published secret; returns the usernames enrolled. Only in a DEBUG (pilot) install, and never for an
    account that existed before the seed (a real ``admin``, or someone whose factor was reset and who is to
    enrol their own): a secret anyone can compute must not guard a real account."""
    if not settings.DEBUG:
        return []
    demo_usernames = {login.username for login in DEMO_LOGINS}
    enrolled = []
    for user in get_user_model().objects.filter(username__in=demo_usernames & set(usernames)).order_by("pk"):
        if TOTPDevice.objects.filter(user=user).exists():
            continue
        TOTPDevice.objects.create(
            user=user, name=DEMO_AUTHENTICATOR_NAME, key=demo_authenticator_key(user.username), confirmed=True
        )
        ledger.append(
            action=LedgerAction.MFA_ENROLMENT,
            obj=user,
            actor=user,
            payload={"event": "enrolled", "device": DEMO_AUTHENTICATOR_NAME},
        )
        enrolled.append(user.username)
    return enrolled
