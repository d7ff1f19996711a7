"""Reads of identity and access that other apps build on (the evidence pack's role holders)."""

import datetime
from collections.abc import Iterable, Mapping

from accounts.choices import Role, RoleGrantBasis, RoleGrantState
from accounts.models import RoleGrant

#: Grants that were held at some time: approved, approved and since asked to be removed, or removed.
_ONCE_HELD = (RoleGrantState.APPROVED, RoleGrantState.REVOCATION_REQUESTED, RoleGrantState.REVOKED)

#: role -> the printed names of its holders, sorted.
Holders = Mapping[str, tuple[str, ...]]


def _held_at(grant: RoleGrant, moment: datetime.datetime) -> bool:
    since_ok = grant.basis == RoleGrantBasis.BEFORE_GOVERNANCE or (
        grant.decided_at is not None and grant.decided_at <= moment
    )
    return since_ok and (grant.revoked_at is None or grant.revoked_at > moment)


def role_holders_at(moments: Iterable[datetime.datetime]) -> dict[datetime.datetime, Holders]:
    """Who held each role, through a grant, at each of ``moments`` (one query, whatever their number). A grant
    recorded as "granted before governance" counts from the beginning: the role was held before it was recorded.
    """
    grants = list(RoleGrant.objects.filter(state__in=_ONCE_HELD).select_related("user").order_by("pk"))
    result: dict[datetime.datetime, Holders] = {}
    for moment in set(moments):
        held: dict[str, set[str]] = {role: set() for role in Role.values}
        for grant in grants:
            if _held_at(grant, moment):
                held[grant.role].add(grant.user.get_full_name() or grant.user.get_username())
        result[moment] = {role: tuple(sorted(names)) for role, names in held.items()}
    return result
