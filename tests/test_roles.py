"""The nine role groups exist on every install, created by migration with their model permissions."""

import pytest
from django.contrib.auth.models import Group

from accounts.choices import Role
from accounts.roles import ROLE_DUTIES, grant_role_permissions, permission_keys, role_permissions

pytestmark = pytest.mark.django_db

DESIGN_ROLE_NAMES = {
    "ML Engineer",
    "Data Steward",
    "Legal Reviewer",
    "Security Reviewer",
    "Compliance Reviewer",
    "Risk Officer",
    "Product Owner",
    "Change Advisory Board",
    "Auditor",
}


def granted(group: Group) -> set[tuple[str, str, str]]:
    return {
        (p.content_type.app_label, p.content_type.model, p.codename)
        for p in group.permissions.select_related("content_type")
    }


def test_migrations_create_exactly_the_nine_role_groups() -> None:
    assert set(Group.objects.values_list("name", flat=True)) == DESIGN_ROLE_NAMES
    assert {role.value for role in Role} == DESIGN_ROLE_NAMES


@pytest.mark.parametrize("role", list(Role))
def test_each_role_group_holds_exactly_its_declared_permissions(role: Role) -> None:
    assert granted(Group.objects.get(name=role.value)) == permission_keys(role)


def test_every_declared_permission_exists_once_all_migrations_ran() -> None:
    declared = set().union(*(permission_keys(role) for role in role_permissions()))
    existing = set().union(*(granted(Group.objects.get(name=role.value)) for role in Role))

    assert declared <= existing


def test_auditor_may_only_view() -> None:
    codenames = {codename for _app, _model, codename in granted(Group.objects.get(name=Role.AUDITOR))}

    assert codenames
    assert all(codename.startswith("view_") for codename in codenames)


def test_every_role_has_its_duties_described() -> None:
    assert set(ROLE_DUTIES) == set(Role)


def test_granting_again_changes_nothing_and_keeps_an_administrators_extra_grants() -> None:
    from django.apps import apps
    from django.contrib.auth.models import Permission

    auditor = Group.objects.get(name=Role.AUDITOR)
    extra = Permission.objects.get(codename="view_session")
    auditor.permissions.add(extra)
    before = {group.name: granted(group) for group in Group.objects.all()}

    grant_role_permissions(apps)

    assert {group.name: granted(group) for group in Group.objects.all()} == before
    assert Group.objects.count() == len(Role)


@pytest.mark.parametrize("app_label", ["lineage", "registry", "evidence", "webhooks"])
def test_each_app_grants_permissions_on_its_own_models_only(app_label: str) -> None:
    import importlib

    grants = importlib.import_module(f"{app_label}.roles").ROLE_GRANTS

    assert {model._meta.app_label for models in grants.values() for model in models} == {app_label}


def test_the_base_names_no_model_or_state_of_a_later_app() -> None:
    """Roles, attachment rules and webhook events are registered by the app that owns the models: the base's
    code holds no ``"lineage.…"`` or ``"registry.…"`` label of its own."""
    from pathlib import Path

    import governance

    root = Path(governance.__file__).parent
    named = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(f'"{app}.' in line for app in ("lineage", "registry", "evidence", "webhooks"))
    ]
    assert named == []
