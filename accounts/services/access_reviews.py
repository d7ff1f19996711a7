"""Periodic access reviews: each period the owner of every role signs its member list and names who should lose
the role. Roles drift (people change jobs, a stand-in keeps a role); a signed review each quarter is how an
auditor sees that someone looked, and removals flow from it as removal requests a second person approves."""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.authz import roles_of
from accounts.choices import HOLDING_STATES, AccessReviewState, Role, RoleGrantState
from accounts.models import AccessReview, RoleGrant
from accounts.roles import ROLE_OWNERS
from accounts.services.role_grants import role_grant_revocation_request
from accounts.services.signatures import signature_sign
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded

#: Who opens the reviews, in the ledger.
SCHEDULER = "system:access-review"


def access_review_period_start(day: datetime.date | None = None) -> datetime.date:
    """The first day of the review period containing ``day`` (periods of ``ACCESS_REVIEW_MONTHS`` from January)."""
    day = day or timezone.now().date()
    months = settings.ACCESS_REVIEW_MONTHS
    if months < 1 or 12 % months:
        raise ValueError("ACCESS_REVIEW_MONTHS must divide the year: 1, 2, 3, 4, 6 or 12.")
    return datetime.date(day.year, (day.month - 1) // months * months + 1, 1)


def _members(role: Role) -> list[dict[str, object]]:
    grants = (
        RoleGrant.objects.filter(role=role, state__in=HOLDING_STATES)
        .select_related("user")
        .order_by("user__username", "pk")
    )
    return [
        {
            "grant": grant.pk,
            "username": grant.user.get_username(),
            "name": grant.user.get_full_name(),
            "basis": grant.basis,
            "since": grant.decided_at.isoformat() if grant.decided_at else grant.requested_at.isoformat(),
        }
        for grant in grants
    ]


def access_reviews_open_due(*, day: datetime.date | None = None) -> list[AccessReview]:
    """Open this period's review of every role that has none yet, with its members as they stand. Idempotent (a
    unique constraint holds one review per role and period), so the scheduled task may run as often as it likes."""
    period_start = access_review_period_start(day)
    opened = []
    with acting_as(actor_name=SCHEDULER):
        for role in Role:
            if AccessReview.objects.filter(role=role, period_start=period_start).exists():
                continue
            try:
                with transaction.atomic():
                    opened.append(
                        AccessReview.objects.create(role=role, period_start=period_start, members=_members(role))
                    )
            except IntegrityError:
                continue  # opened meanwhile by another run
    return opened


def access_review_attest(
    *,
    review: AccessReview,
    attester: AbstractBaseUser,
    password: str,
    remove: Iterable[int | str] = (),
    note: str = "",
    username: str | None = None,
) -> AccessReview:
    """The role's owner signs the member list and names the grants to remove; each becomes a removal request in
    the same transaction (held until a second person approves it)."""
    attempted = "access_review_attest"
    with denials_recorded(), transaction.atomic(), acting_as(attester):
        locked = AccessReview.objects.select_for_update().get(pk=review.pk)
        role, owner = Role(locked.role), ROLE_OWNERS[Role(locked.role)]
        if locked.state != AccessReviewState.OPEN:
            raise ActionDenied(
                f"{locked} is {locked.get_state_display().lower()}, not waiting for attestation.",
                actor=attester,
                attempted=attempted,
                obj=locked,
            )
        held = roles_of(attester)
        if owner.value not in held:
            raise ActionDenied(
                f"The {role.label} members are attested by a {owner.label}.",
                actor=attester,
                attempted=attempted,
                obj=locked,
            )
        if role.value in held:
            raise ActionDenied(
                f"You hold the {role.label} role; another {owner.label} attests its members.",
                actor=attester,
                attempted=attempted,
                obj=locked,
            )
        listed = {int(member["grant"]) for member in locked.members}
        try:
            removals = sorted({int(grant) for grant in remove})
        except (TypeError, ValueError):
            raise ValidationError({"remove": "Choose members from the list."}) from None
        if not set(removals) <= listed:
            raise ValidationError({"remove": "Only members on the review's list can be removed through it."})
        if removals and not note.strip():
            raise ValidationError({"note": "Say why the chosen members should lose the role."})
        signature_sign(
            record=locked,
            signer=attester,
            password=password,
            username=username,
            meaning=f"Attested the {role.label} members as {owner.label} (period from {locked.period_start:%Y-%m-%d})",
        )
        locked.attest()
        locked.removed = removals
        locked.note = note.strip()
        locked.attested_by = attester
        locked.attested_at = timezone.now()
        locked.save()
        reason = f"Access review of {role.label} (period from {locked.period_start:%Y-%m-%d}): {locked.note}"
        for grant in RoleGrant.objects.filter(pk__in=removals, state=RoleGrantState.APPROVED).order_by("pk"):
            role_grant_revocation_request(grant=grant, requested_by=attester, reason=reason, review=locked)
        return locked
