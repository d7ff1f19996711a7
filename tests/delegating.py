"""A person away with a stand-in, as the delegation tests set it up: from an hour ago for some days."""

from datetime import timedelta

from django.utils import timezone

from accounts.choices import Role
from accounts.models import Delegation
from accounts.services.delegations import delegation_create


def away(delegator, delegate, *, role: str = Role.LEGAL_REVIEWER, actor=None, days: int = 7, **fields) -> Delegation:
    now = timezone.now()
    values = {"starts": now - timedelta(hours=1), "ends": now + timedelta(days=days), "reason": "Annual leave."}
    return delegation_create(
        delegator=delegator, delegate=delegate, role=role, actor=actor or delegator, **{**values, **fields}
    )
