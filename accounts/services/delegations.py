"""Delegation while away: a reviewer names a stand-in holding the same role, for a period.

While the delegation is active the delegate signs, on the delegator's behalf, what the delegator would sign in
that role: the dataset-version reviews assigned to them, the change tickets, revisions (RACI, thresholds, required
provenance facts) and borderline gates their role decides. Each such signature and its ledger entry say "on behalf
of" the delegator. ``standing_in_for`` is the one answer to "on whose behalf may this person sign this"; every
approval service, its ``*_refusal`` check, its signing page and its work queue ask it.

Segregation of duties holds for both people: the approval services check the delegate as themselves (a delegate
who submitted or proposed the record cannot sign it) and ask the approval's own check of the delegator too (the
delegator who proposed a revision cannot approve it through their delegate, nor sign a second stage or a second
function of one approval). No chains: someone standing in for another cannot hand that on, and someone away
cannot stand in for a third person.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.authz import role_holders, roles_of
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


def current_delegations(delegate: AbstractBaseUser, at: datetime | None = None) -> list[Delegation]:
    """The delegations ``delegate`` may act on now: active, in a role both people still hold (someone who has lost
    the role since neither stands in nor is stood in for). One query when there are none, three otherwise."""
    if not delegate.is_authenticated:
        return []
    delegations = delegations_to(delegate, at)
    if not delegations:
        return []
    held = roles_of(delegate)
    delegations = [d for d in delegations if d.role in held]
    still_held = {
        (person, role)
        for role in {d.role for d in delegations}
        for person in role_holders([role])
        .filter(pk__in=[d.delegator_id for d in delegations if d.role == role])
        .values_list("pk", flat=True)
    }
    return [d for d in delegations if (d.delegator_id, d.role) in still_held]


#: The approval's own check of a person in a role: could they sign it themselves (not through a delegate)?
CouldSign = Callable[[AbstractBaseUser, str], bool]


def standing_in_for(
    person: AbstractBaseUser,
    roles: Iterable[str],
    could_sign: CouldSign,
    *,
    delegations: Sequence[Delegation] | None = None,
) -> Delegation | None:
    """On whose behalf ``person`` signs an approval made in one of ``roles`` now: their first current delegation in
    such a role (in the order of ``roles``) whose delegator could sign it themselves, ``could_sign(delegator,
    role)`` being the approval's own check of that person. None: ``person`` signs in their own right, if at all.

    While someone stands in for an away colleague, what the colleague could sign is signed on their behalf, so it
    counts as the colleague's signature for segregation of duties (nobody signs two stages or functions of one
    approval, through a delegate or not). The caller checks ``person`` as themselves as well. ``delegations``:
    ``current_delegations(person)`` when a queue has read it already for many records."""
    delegations = current_delegations(person) if delegations is None else delegations
    if not delegations:
        return None
    for role in roles:
        for delegation in delegations:
            if delegation.role == role and could_sign(delegation.delegator, role):
                return delegation
    return None


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
