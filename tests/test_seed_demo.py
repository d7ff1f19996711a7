"""``manage.py seed_demo``: one login per role and an administrator, and a second run changes nothing."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from governance.choices import Role
from governance.demo import DEFAULT_DEMO_PASSWORD, DEMO_LOGINS

pytestmark = pytest.mark.django_db

User = get_user_model()


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> list[dict]:
    return [
        {**model_to_dict(user), "groups": sorted(user.groups.values_list("name", flat=True))}
        for user in User.objects.order_by("username")
    ]


@pytest.fixture(autouse=True)
def _pilot_mode(settings: object) -> None:
    settings.DEBUG = True


def test_creates_one_staff_login_per_role_and_an_administrator() -> None:
    seed()

    for role in Role:
        holders = User.objects.filter(groups__name=role.value)
        # Two risk officers, so that change control (one proposes, another approves) can be demonstrated.
        assert holders.count() == (2 if role == Role.RISK_OFFICER else 1), role
        assert all(holder.is_staff and not holder.is_superuser for holder in holders)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert not admin.groups.exists()
    assert User.objects.count() == len(DEMO_LOGINS) == len(Role) + 2


def test_every_demo_login_authenticates_with_the_shared_password() -> None:
    seed()

    for login in DEMO_LOGINS:
        assert authenticate(username=login.username, password=DEFAULT_DEMO_PASSWORD) is not None


def test_prints_the_logins_and_the_password() -> None:
    output = seed()

    assert DEFAULT_DEMO_PASSWORD in output
    for username in (
        "legal",
        "security",
        "compliance",
        "risk",
        "mleng",
        "steward",
        "product",
        "cab",
        "auditor",
    ):
        assert f"  {username} " in output


def test_a_second_run_changes_nothing() -> None:
    seed()
    before = snapshot()

    output = seed(password="a-different-password")

    assert snapshot() == before
    assert "0 created" in output


def test_a_second_run_leaves_a_changed_password_alone() -> None:
    seed()
    legal = User.objects.get(username="legal")
    legal.set_password("legal-changed-it-on-purpose")
    legal.save()

    seed()

    assert authenticate(username="legal", password="legal-changed-it-on-purpose") is not None


def test_refuses_in_production_mode(settings: object) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is false"):
        seed()
    assert not User.objects.exists()


def test_production_seed_needs_an_explicit_flag(settings: object) -> None:
    settings.DEBUG = False

    seed(allow_production=True)

    assert User.objects.count() == len(DEMO_LOGINS)


def test_rejects_a_blank_password() -> None:
    with pytest.raises(CommandError, match="cannot be empty"):
        seed(password="   ")
    assert not User.objects.exists()


def test_seeds_the_demo_organisation_through_the_services() -> None:
    from governance.choices import LedgerAction, RequirementsState, RevisionState
    from governance.models import LedgerEntry, RaciMatrix, RequirementsDocument, RetrainingCadence, UseCase
    from governance.verification import verify_chain

    seed()

    assert set(UseCase.objects.values_list("slug", flat=True)) == {
        "support-assistant",
        "wealth-chatbot",
        "clinical-notes",
    }
    assert RaciMatrix.objects.filter(state=RevisionState.EFFECTIVE).count() == 3
    states = dict(RequirementsDocument.objects.values_list("use_case__slug", "state"))
    assert states["support-assistant"] == RequirementsState.APPROVED
    assert states["clinical-notes"] == RequirementsState.IN_REVIEW
    assert RetrainingCadence.objects.get(due_since__isnull=False).use_case.slug == "support-assistant"
    assert LedgerEntry.objects.filter(action=LedgerAction.SIGN).exists()
    assert verify_chain().ok


def test_a_second_run_adds_nothing_to_the_organisation_or_the_ledger() -> None:
    from governance.models import LedgerEntry

    seed()
    entries = LedgerEntry.objects.count()

    seed()

    assert LedgerEntry.objects.count() == entries


def test_seeds_dataset_versions_in_every_state_of_the_review_workflow() -> None:
    from lineage.choices import DatasetVersionState
    from lineage.models import DatasetVersion, LineageTemplate, SourceSystem
    from lineage.reviews import approved_for_training

    seed()

    assert set(DatasetVersion.objects.values_list("state", flat=True)) == set(DatasetVersionState.values)
    assert SourceSystem.objects.count() == 5
    assert LineageTemplate.objects.filter(name="Support chats (playbook)").exists()
    approved = DatasetVersion.objects.get(dataset__slug="support-chats", number=1)
    assert approved_for_training(approved) == (True, [])
    derived = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    assert derived.parent_edges.get().parent == approved
