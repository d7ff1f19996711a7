"""Delegation while away: a reviewer names a stand-in holding the same role, for a period.

While the delegation is active the delegate sees the delegator's assigned reviews in that role and may sign
them; each such signature says "on behalf of" the delegator. Segregation of duties holds for both people: the
approval services check the delegate as themselves (a delegate who submitted the record cannot sign it) and the
delegator's own part in the record too (the delegator cannot sign another stage of the same approval through
their delegate). No chains: someone standing in for another cannot hand that on, and someone away cannot stand
in for a third person.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.authz import roles_of
from accounts.choices import Role
from accounts.models import Delegation
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded

#: Held by access administrators, who may create or end anyone's delegation (everyone may manage their own).
MANAGE_PERMISSION = "accounts.manage_delegation"
#: The longest a delegation may run: an absence, not a permanent second signer.
MAX_DAYS = 92


def may_manage(actor: AbstractBaseUser, delegator: AbstractBaseUser) -> bool:
    return actor.is_active and (actor.pk == delegator.pk or actor.has_perm(MANAGE_PERMISSION))


def _overlapping(starts: datetime, ends: datetime) -> Q:
    return Q(ended_at__isnull=True, starts__lt=ends, ends__gt=starts)


def delegation_create(
    *,
    delegator: AbstractBaseUser,
    delegate: AbstractBaseUser,
    role: str,
    starts: datetime,
    ends: datetime,
    reason: str,
    actor: AbstractBaseUser,
) -> Delegation:
    """``delegator`` is away from ``starts`` until ``ends``; ``delegate`` signs their reviews in ``role``."""
    attempted = "delegation_create"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        if not may_manage(actor, delegator):
            raise ActionDenied(
                "Only the person who will be away (or an access administrator) names their delegate.",
                actor=actor,
                attempted=attempted,
                obj=delegator,
            )
        # Both people's rows are locked, in a fixed order, so two delegations made at once cannot form a chain.
        people = {
            p.pk: p
            for p in get_user_model()
            .objects.select_for_update()
            .filter(pk__in=[delegator.pk, delegate.pk])
            .order_by("pk")
        }
        errors: dict[str, str] = {}
        reason = reason.strip()
        if role not in Role.values:
            errors["role"] = "Choose one of the portal's roles."
        if not reason:
            errors["reason"] = "Say why (e.g. the dates of your leave), so the delegation can be understood later."
        elif len(reason) > Delegation._meta.get_field("reason").max_length:
            errors["reason"] = "At most 500 characters."
        if delegator.pk == delegate.pk:
            errors["delegate"] = "Nobody delegates to themselves: name another person holding the role."
        if ends <= starts:
            errors["ends"] = "The delegation must end after it starts."
        elif ends <= timezone.now():
            errors["ends"] = "The delegation would already be over."
        elif (ends - starts).days > MAX_DAYS:
            errors["ends"] = f"A delegation covers an absence of at most {MAX_DAYS} days."
        if errors:
            raise ValidationError(errors)
        if role not in roles_of(people[delegator.pk]):
            raise ValidationError({"role": f"{delegator.get_username()} does not hold the {role} role."})
        if not people[delegate.pk].is_active or role not in roles_of(people[delegate.pk]):
            raise ValidationError({"delegate": f"{delegate.get_username()} does not hold the {role} role."})
        active = Delegation.objects.filter(_overlapping(starts, ends), role=role)
        if active.filter(delegator=delegator).exists():
            raise ValidationError({"starts": "You already have a delegation in this role for part of this period."})
        if active.filter(delegate=delegator).exists():
            raise ValidationError(
                {"delegate": "You stand in for someone else in this role then: that cannot be handed on."}
            )
        if active.filter(delegator=delegate).exists():
            raise ValidationError({"delegate": f"{delegate.get_username()} is away themselves then."})
        return Delegation.objects.create(
            delegator=delegator,
            delegate=delegate,
            role=role,
            starts=starts,
            ends=ends,
            reason=reason,
            created_by=actor,
        )


def delegation_end(*, delegation: Delegation, actor: AbstractBaseUser) -> Delegation:
    """End a delegation now (the delegator is back early, or it was a mistake). Signatures already made stay."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = Delegation.objects.select_for_update().select_related("delegator").get(pk=delegation.pk)
        if not may_manage(actor, locked.delegator):
            raise ActionDenied(
                "Only the delegator (or an access administrator) ends a delegation.",
                actor=actor,
                attempted="delegation_end",
                obj=locked,
            )
        now = timezone.now()
        if locked.ended_at is not None or locked.ends <= now:
            raise ActionDenied("This delegation is already over.", actor=actor, attempted="delegation_end", obj=locked)
        locked.ended_at, locked.ended_by = now, actor
        locked.save()
        return locked


def active_delegators(delegate: AbstractBaseUser, role: str, at: datetime | None = None) -> list[AbstractBaseUser]:
    """The people ``delegate`` stands in for in ``role`` now (the delegate must still hold the role)."""
    at = at or timezone.now()
    if not delegate.is_authenticated or role not in roles_of(delegate):
        return []
    return [
        d.delegator
        for d in Delegation.objects.filter(
            delegate=delegate, role=role, ended_at__isnull=True, starts__lte=at, ends__gt=at
        ).select_related("delegator")
    ]


def active_delegates(delegator: AbstractBaseUser, role: str, at: datetime | None = None) -> list[AbstractBaseUser]:
    """Who stands in for ``delegator`` in ``role`` now (told about work assigned to the delegator meanwhile)."""
    at = at or timezone.now()
    return [
        d.delegate
        for d in Delegation.objects.filter(
            delegator=delegator, role=role, ended_at__isnull=True, starts__lte=at, ends__gt=at
        ).select_related("delegate")
    ]


def delegations_to(delegate: AbstractBaseUser, at: datetime | None = None) -> list[Delegation]:
    """Every delegation ``delegate`` holds now, in any role (for their landing page)."""
    at = at or timezone.now()
    return list(
        Delegation.objects.filter(delegate=delegate, ended_at__isnull=True, starts__lte=at, ends__gt=at).select_related(
            "delegator"
        )
    )
