"""Approval authority, which being an administrator never confers.

Django's ``has_perm`` answers True for every permission of a superuser. That is right for administering
the portal and wrong for approving: an approval is a statement by a person in a role. Approval services
ask ``holds_approval_permission``, which counts only permissions granted explicitly: through a role group
the person holds by an approved role grant (``accounts.models.RoleGrant``), or to the user directly.

Group membership alone is not enough: a membership added around the role grant services (the stock user
admin once allowed it, a shell or raw SQL still can) carries no grant, so it approves nothing. Neither does
any role of an administrator (superuser): an administrator holds no portal role.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import F, Q, QuerySet

from accounts.choices import HOLDING_STATES
from accounts.models import RoleGrant


def explicit_permissions(user: AbstractBaseUser) -> frozenset[str]:
    """``app_label.codename`` of every permission granted through the user's groups or to the user directly.

    Cached on the user object for the request, as Django caches ``get_all_permissions``: the admin asks for
    every model on every page.
    """
    cached = getattr(user, "_explicit_permission_cache", None)
    if cached is None:
        by_role = Q(group__user=user, group__name__in=_granted_roles(user))
        rows = (
            Permission.objects.filter((Q() if user.is_superuser else by_role) | Q(user=user))
            .values_list("content_type__app_label", "codename")
            .distinct()
        )
        cached = frozenset(f"{app_label}.{codename}" for app_label, codename in rows)
        user._explicit_permission_cache = cached
    return cached


def _granted_roles(user: AbstractBaseUser) -> QuerySet:
    """The roles the person holds through an approved grant, as a subquery."""
    return RoleGrant.objects.filter(user=user, state__in=HOLDING_STATES).values("role")


def holds_approval_permission(user: AbstractBaseUser, permission: str) -> bool:
    """``permission`` is ``"app_label.codename"``; inactive and anonymous users hold none."""
    if not user.is_authenticated or not user.is_active:
        return False
    return permission in explicit_permissions(user)


def require(actor: AbstractBaseUser, permission: str, *, attempted: str, obj: object = None) -> None:
    """Refuse (``ActionDenied``, recorded by ``denials_recorded``) unless a role grants ``permission``."""
    from audit.ledger import ActionDenied

    if not holds_approval_permission(actor, permission):
        raise ActionDenied(
            f"Your roles do not allow this ({permission.split('.', 1)[1].replace('_', ' ')}).",
            actor=actor,
            attempted=attempted,
            obj=obj,
        )


def roles_of(user: AbstractBaseUser) -> set[str]:
    """The names of the role groups the user belongs to and holds through an approved grant (an administrator
    holds none, whatever its groups)."""
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return set()
    return set(user.groups.filter(name__in=_granted_roles(user)).values_list("name", flat=True))


def role_holders(roles: Iterable[str]) -> QuerySet:
    """The active people (never an administrator) who hold any of ``roles`` through an approved grant: those whose
    ``roles_of`` meets ``roles``, in one query, for pages that name who may act."""
    from django.contrib.auth import get_user_model

    held = RoleGrant.objects.filter(role__in=list(roles), state__in=HOLDING_STATES, user__groups__name=F("role"))
    return (
        get_user_model()
        .objects.filter(is_active=True, is_superuser=False, pk__in=held.values("user_id"))
        .order_by("last_name", "first_name", "username")
    )


def approval_permission_holders(permission: str) -> QuerySet:
    """The people for whom ``holds_approval_permission(person, permission)`` is true, in one query: granted
    through a held role's group, or to the person directly."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    app_label, codename = permission.split(".", 1)
    granting = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    roles = Group.objects.filter(permissions__in=granting).values_list("name", flat=True)
    direct = get_user_model().objects.filter(user_permissions__in=granting, is_active=True).values("pk")
    return (
        get_user_model()
        .objects.filter(Q(pk__in=role_holders(roles).values("pk")) | Q(pk__in=direct))
        .order_by("last_name", "first_name", "username")
    )


def printed_names(people: Iterable[AbstractBaseUser]) -> list[str]:
    """How pages name people: full name, else username."""
    return [person.get_full_name() or person.get_username() for person in people]
