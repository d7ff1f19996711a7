"""Approval authority, which being an administrator never confers.

Django's ``has_perm`` answers True for every permission of a superuser. That is right for administering
the portal and wrong for approving: an approval is a statement by a person in a role. Approval services
ask ``holds_approval_permission``, which counts only permissions granted explicitly, through a role group
or to the user directly.
"""

from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import Q


def holds_approval_permission(user: AbstractBaseUser, permission: str) -> bool:
    """``permission`` is ``"app_label.codename"``; inactive and anonymous users hold none."""
    if not user.is_authenticated or not user.is_active:
        return False
    app_label, codename = permission.split(".", 1)
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(group__user=user) | Q(user=user))
        .exists()
    )
