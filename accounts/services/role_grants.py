"""Granting and removing portal roles: maker-checker, signed, ledgered, and the only code that changes role groups.

A role is what lets a person approve; so giving one is itself an approval. An access administrator asks (with a
reason), a second person who may approve role grants (a Risk Officer or a Compliance reviewer) signs, and only
then does the person join the role's group. Removal goes the same way. Nobody asks for or approves their own
grant, nobody approves a request they made, and an administrator (superuser) holds no portal role at all: an
account that can change anything in the admin must not also be the person whose signature counts.

Each applied change appends a ledger entry on the person with their roles before and after, beside the grant's
own history and signature entries.
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import approval_permission_holders, holds_approval_permission, roles_of
from accounts.choices import HOLDING_STATES, OPEN_STATES, SERVICE_ACCOUNT_PREFIX, Role, RoleGrantBasis, RoleGrantState
from accounts.models import AccessReview, RoleGrant
from accounts.services.signatures import signature_sign
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded

#: Held by access administrators: they ask for roles to be granted or removed. Administrators (superusers) hold
#: it as they hold every Django permission; another staff account can be given it directly.
REQUEST_PERMISSION = "accounts.request_rolegrant"
#: Held through a role (see ``accounts.apps``): approving a grant or a removal, with a signature.
APPROVE_PERMISSION = "accounts.approve_rolegrant"
#: The roles whose holders approve grants, in the order their name is used in the signature's meaning.
APPROVER_ROLES = (Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER)


def is_access_administrator(user: AbstractBaseUser) -> bool:
    """Whether ``user`` may ask for roles to be granted or removed (never to approve: that needs a role)."""
    return user.is_authenticated and user.is_active and user.is_staff and user.has_perm(REQUEST_PERMISSION)


def _clean_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError(
            {"role": f"{role!r} is not a portal role; choose one of {', '.join(Role.values)}."}
        ) from None


def _held(user: AbstractBaseUser) -> list[str]:
    """The roles the person holds through grants, by name, sorted (for the before/after of the ledger)."""
    return sorted(
        RoleGrant.objects.filter(user=user, state__in=HOLDING_STATES).values_list("role", flat=True).distinct()
    )


def _apply(grant: RoleGrant, *, before: list[str], granted: bool) -> None:
    """Put the person's group membership in line with the grant and record the change on the person."""
    group, _created = Group.objects.get_or_create(name=grant.role)
    if granted:
        grant.user.groups.add(group)
    else:
        grant.user.groups.remove(group)
    grant.user._explicit_permission_cache = None  # accounts.authz caches a person's permissions on the object
    ledger.append(
        action=LedgerAction.UPDATE,
        obj=grant.user,
        payload={
            "roles": {"before": before, "after": _held(grant.user)},
            "role_grant": grant.pk,
            "role": grant.role,
            "change": "granted" if granted else "removed",
            "basis": grant.basis,
        },
    )


def _refuse_administrator(user: AbstractBaseUser, *, actor: AbstractBaseUser | None, attempted: str) -> None:
    if user.is_superuser:
        raise ActionDenied(
            f"{user.get_username()} is an administrator (superuser); an administrator holds no portal role. "
            "Give the person an account of their own without administrator rights.",
            actor=actor,
            attempted=attempted,
            obj=user,
        )


def _lock_person(user: AbstractBaseUser) -> AbstractBaseUser:
    """Lock the person's row: requests and decisions about one person's roles happen one at a time."""
    return get_user_model().objects.select_for_update().get(pk=user.pk)


def role_grant_request(
    *, user: AbstractBaseUser, role: Role | str, requested_by: AbstractBaseUser, reason: str
) -> RoleGrant:
    """An access administrator asks for ``user`` to be given ``role``; nothing is granted until a second person
    approves (``role_grant_approve``)."""
    role = _clean_role(role)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the person needs the role (their job, the ticket number)."})
    attempted = "role_grant_request"
    with denials_recorded(), transaction.atomic(), acting_as(requested_by):
        person = _lock_person(user)
        if not is_access_administrator(requested_by):
            raise ActionDenied(
                "Only an access administrator may ask for a role to be granted.",
                actor=requested_by,
                attempted=attempted,
                obj=person,
            )
        if person.pk == requested_by.pk:
            raise ActionDenied(
                "Nobody asks for a role for themselves; another access administrator must ask.",
                actor=requested_by,
                attempted=attempted,
                obj=person,
            )
        _refuse_administrator(person, actor=requested_by, attempted=attempted)
        if not person.is_active:
            raise ValidationError({"user": f"{person.get_username()} is deactivated."})
        if person.get_username().startswith(SERVICE_ACCOUNT_PREFIX):
            raise ValidationError(
                {"user": "A service account's role comes with its pipeline token; it is not granted here."}
            )
        open_grant = RoleGrant.objects.filter(user=person, role=role, state__in=OPEN_STATES).first()
        if open_grant is not None:
            state = open_grant.get_state_display().lower()
            raise ValidationError(
                {"role": f"{person.get_username()} already has this role or a request for it ({state})."}
            )
        return RoleGrant.objects.create(user=person, role=role, reason=reason.strip(), requested_by=requested_by)


def _capacity(user: AbstractBaseUser) -> str:
    held = roles_of(user)
    return next((role.label for role in APPROVER_ROLES if role.value in held), "approver")


def role_grant_decide_refusal(
    grant: RoleGrant, decider: AbstractBaseUser, *, state: RoleGrantState, maker_id: int | None
) -> str | None:
    """Why ``decider`` may not decide on the grant (in ``state``, asked for by ``maker_id``) now; None if they may.
    The services refuse with it, and the signing pages ask it before offering the form."""
    if grant.state != state:
        return f"The grant of {grant} is {grant.get_state_display().lower()}, not {state.label.lower()}."
    if grant.user_id == decider.pk:
        return "Nobody decides on their own roles; another person must."
    if maker_id == decider.pk:
        return "You asked for this change; a second person must decide on it."
    if not holds_approval_permission(decider, APPROVE_PERMISSION):
        return "Only a Risk Officer or a Compliance reviewer may decide on role grants."
    return None


def role_grant_deciders(grant: RoleGrant, *, state: RoleGrantState, maker_id: int | None) -> list[AbstractBaseUser]:
    """The people who may decide on the grant now, in one query."""
    if grant.state != state:
        return []
    excluded = [pk for pk in (grant.user_id, maker_id) if pk is not None]
    return list(approval_permission_holders(APPROVE_PERMISSION).exclude(pk__in=excluded))


def _check_decider(
    grant: RoleGrant, decider: AbstractBaseUser, *, attempted: str, state: RoleGrantState, maker_id: int | None
) -> None:
    problem = role_grant_decide_refusal(grant, decider, state=state, maker_id=maker_id)
    if problem:
        raise ActionDenied(problem, actor=decider, attempted=attempted, obj=grant)


def _name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def role_grant_approve(
    *, grant: RoleGrant, approver: AbstractBaseUser, password: str, username: str | None = None
) -> RoleGrant:
    """A second person signs the request; the person joins the role's group in the same transaction."""
    attempted = "role_grant_approve"
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = RoleGrant.objects.select_for_update().select_related("user").get(pk=grant.pk)
        locked.user = _lock_person(locked.user)
        _check_decider(
            locked, approver, attempted=attempted, state=RoleGrantState.REQUESTED, maker_id=locked.requested_by_id
        )
        _refuse_administrator(locked.user, actor=approver, attempted=attempted)
        if not locked.user.is_active:
            raise ActionDenied(
                f"{locked.user.get_username()} has been deactivated since the request; reject it.",
                actor=approver,
                attempted=attempted,
                obj=locked,
            )
        before = _held(locked.user)
        signature_sign(
            record=locked,
            signer=approver,
            password=password,
            username=username,
            meaning=f"Approved granting the {locked.role} role to {_name(locked.user)} as {_capacity(approver)}",
        )
        locked.approve()
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.save()
        _apply(locked, before=before, granted=True)
        return locked


def role_grant_reject(*, grant: RoleGrant, approver: AbstractBaseUser, note: str) -> RoleGrant:
    """Refuse a request; the reason is required and kept."""
    if not note.strip():
        raise ValidationError({"note": "Say why the role is not granted."})
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        _check_decider(
            locked,
            approver,
            attempted="role_grant_reject",
            state=RoleGrantState.REQUESTED,
            maker_id=locked.requested_by_id,
        )
        locked.reject()
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        locked.save()
        return locked


def role_grant_revocation_request(
    *, grant: RoleGrant, requested_by: AbstractBaseUser, reason: str, review: AccessReview | None = None
) -> RoleGrant:
    """An access administrator, or the role's owner attesting an access review (``review``, see
    ``accounts.services.access_reviews``), asks for a held role to be taken away; the person keeps it until a
    second person approves the removal."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the role is to be removed."})
    attempted = "role_grant_revocation_request"
    with denials_recorded(), transaction.atomic(), acting_as(requested_by):
        locked = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        from_review = review is not None and review.attested_by_id == requested_by.pk and review.role == locked.role
        if not from_review and not is_access_administrator(requested_by):
            raise ActionDenied(
                "Only an access administrator may ask for a role to be removed.",
                actor=requested_by,
                attempted=attempted,
                obj=locked,
            )
        if locked.state != RoleGrantState.APPROVED:
            raise ActionDenied(
                f"The grant of {locked} is {locked.get_state_display().lower()}, not held.",
                actor=requested_by,
                attempted=attempted,
                obj=locked,
            )
        locked.request_revocation()
        locked.revocation_requested_by = requested_by
        locked.revocation_requested_at = timezone.now()
        locked.revocation_reason = reason.strip()
        locked.save()
        return locked


def role_grant_revocation_approve(
    *, grant: RoleGrant, approver: AbstractBaseUser, password: str, username: str | None = None
) -> RoleGrant:
    """A second person signs the removal; the person leaves the role's group in the same transaction."""
    attempted = "role_grant_revocation_approve"
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = RoleGrant.objects.select_for_update().select_related("user").get(pk=grant.pk)
        locked.user = _lock_person(locked.user)
        _check_decider(
            locked,
            approver,
            attempted=attempted,
            state=RoleGrantState.REVOCATION_REQUESTED,
            maker_id=locked.revocation_requested_by_id,
        )
        before = _held(locked.user)
        signature_sign(
            record=locked,
            signer=approver,
            password=password,
            username=username,
            meaning=f"Approved removing the {locked.role} role from {_name(locked.user)} as {_capacity(approver)}",
        )
        locked.revoke()
        locked.revoked_by = approver
        locked.revoked_at = timezone.now()
        locked.save()
        _apply(locked, before=before, granted=False)
        return locked


def role_grant_revocation_reject(*, grant: RoleGrant, approver: AbstractBaseUser, note: str) -> RoleGrant:
    """Refuse a removal: the grant stands, and the reason is kept."""
    if not note.strip():
        raise ValidationError({"note": "Say why the role is kept."})
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        _check_decider(
            locked,
            approver,
            attempted="role_grant_revocation_reject",
            state=RoleGrantState.REVOCATION_REQUESTED,
            maker_id=locked.revocation_requested_by_id,
        )
        locked.keep()
        locked.revocation_note = note.strip()
        locked.save()
        return locked


def role_grant_record(*, user: AbstractBaseUser, role: Role | str, basis: RoleGrantBasis, reason: str) -> RoleGrant:
    """Record a role held on an authority other than the portal's maker-checker (``basis`` says which: the
    identity provider's assignment, a pipeline's service account, the first people of an installation or the
    demo seed) and apply it. The ledger names the basis; an administrator is refused here too.

    Idempotent: a role already held is returned as it is. Callers run it inside their own transaction and
    audit context (the actor they set, e.g. ``system:sso``, is the recorded actor)."""
    role = _clean_role(role)
    if basis == RoleGrantBasis.APPROVED:
        raise ValueError("A grant on the portal's own authority is requested and approved, not recorded.")
    with denials_recorded(), transaction.atomic():
        person = _lock_person(user)
        _refuse_administrator(person, actor=None, attempted="role_grant_record")
        held = RoleGrant.objects.filter(user=person, role=role, state__in=HOLDING_STATES).first()
        if held is not None:
            return held
        _close_requests(person, role)
        before = _held(person)
        grant = RoleGrant.objects.create(
            user=person, role=role, basis=basis, reason=reason, state=RoleGrantState.APPROVED, decided_at=timezone.now()
        )
        _apply(grant, before=before, granted=True)
        return grant


def _close_requests(person: AbstractBaseUser, role: Role) -> None:
    """A pending request for a role the person now holds on another authority has nothing left to decide."""
    for request in RoleGrant.objects.select_for_update().filter(user=person, role=role, state=RoleGrantState.REQUESTED):
        request.reject()
        request.decision_note = "The role was given on another authority meanwhile."
        request.save()


def role_grant_end(*, user: AbstractBaseUser, roles: Iterable[Role | str], reason: str) -> list[RoleGrant]:
    """End the grants of ``roles`` that an outside authority (the identity provider) has taken away, without a
    second person: that authority decided. Callers set the audit context's actor."""
    ended = []
    with transaction.atomic():
        person = _lock_person(user)
        for role in roles:
            for grant in RoleGrant.objects.select_for_update().filter(
                user=person, role=_clean_role(role), state__in=HOLDING_STATES
            ):
                before = _held(person)
                grant.revoke()
                grant.revoked_at = timezone.now()
                grant.revocation_note = reason
                grant.save()
                _apply(grant, before=before, granted=False)
                ended.append(grant)
    return ended


def role_grant_bootstrap(*, user: AbstractBaseUser, role: Role | str, reason: str) -> RoleGrant:
    """The first approvers of a new installation: recorded without a second person, and only while nobody can
    approve role grants yet (afterwards every grant is requested and approved)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say on whose authority the first roles are given."})
    approvers = RoleGrant.objects.filter(
        role__in=[approver.value for approver in APPROVER_ROLES], state__in=HOLDING_STATES, user__is_active=True
    )
    if approvers.exists():
        raise ValidationError(
            "Someone can already approve role grants: ask an access administrator to request the role instead."
        )
    with acting_as(actor_name="system:bootstrap"):
        return role_grant_record(user=user, role=role, basis=RoleGrantBasis.PROVISIONED, reason=reason.strip())
