"""Approval authority comes from roles, never from being an administrator."""

import pytest
from django.contrib.auth.models import Permission

from accounts.authz import holds_approval_permission
from accounts.choices import Role

pytestmark = pytest.mark.django_db

APPROVE = "governance.approve_breakglassoverride"


def test_a_role_that_grants_the_permission_confers_it(user_in_role) -> None:
    assert holds_approval_permission(user_in_role(Role.RISK_OFFICER), APPROVE)


def test_a_superuser_without_the_role_does_not_hold_it(admin_user) -> None:
    assert admin_user.has_perm(APPROVE)  # what Django's has_perm says, and why it is not used for approvals
    assert not holds_approval_permission(admin_user, APPROVE)


def test_a_direct_grant_confers_it_and_deactivation_removes_it(outsider) -> None:
    outsider.user_permissions.add(Permission.objects.get(codename="approve_breakglassoverride"))
    assert holds_approval_permission(outsider, APPROVE)

    outsider.is_active = False
    assert not holds_approval_permission(outsider, APPROVE)


def test_other_roles_do_not_hold_it(user_in_role) -> None:
    assert not holds_approval_permission(user_in_role(Role.ML_ENGINEER), APPROVE)
