"""``manage.py seed_demo``: one login per role and an administrator, and a second run changes nothing."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import SERVICE_ACCOUNT_PREFIX, Role
from accounts.demo import DEFAULT_DEMO_PASSWORD, DEMO_AUTHENTICATOR_NAME, DEMO_LOGINS, seed_demo_logins
from accounts.services.second_factor import secret_text
from audit.models import LedgerEntry

pytestmark = pytest.mark.django_db

User = get_user_model()


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def demo_code(username: str) -> str:
    out = StringIO()
    call_command("demo_code", username, stdout=out)
    return out.getvalue().strip()


def authenticates(username: str, password: str) -> bool:
    """The password step of signing in (the sign-in backends want the request, for lockout counting)."""
    return authenticate(RequestFactory().post("/admin/login/"), username=username, password=password) is not None


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

    # The serving gateway's service account (the inference demo's pipeline token) is no one's login.
    people = User.objects.exclude(username__startswith=SERVICE_ACCOUNT_PREFIX)
    for role in Role:
        holders = people.filter(groups__name=role.value)
        # Two risk officers, so that change control (one proposes, another approves) can be demonstrated; the second
        # also reviews for Legal, standing in while the Legal reviewer is away (delegation).
        assert holders.count() == (2 if role in (Role.RISK_OFFICER, Role.LEGAL_REVIEWER) else 1), role
        assert all(holder.is_staff and not holder.is_superuser for holder in holders)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert not admin.groups.exists()
    assert people.count() == len(DEMO_LOGINS) == len(Role) + 2


def test_every_demo_login_authenticates_with_the_shared_password() -> None:
    seed()

    for login in DEMO_LOGINS:
        assert authenticates(login.username, DEFAULT_DEMO_PASSWORD)


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
    devices = list(TOTPDevice.objects.order_by("pk").values())
    entries = LedgerEntry.objects.count()

    output = seed(password="a-different-password")

    assert snapshot() == before
    assert list(TOTPDevice.objects.order_by("pk").values()) == devices
    assert LedgerEntry.objects.count() == entries
    assert "0 created" in output


def test_every_demo_login_passes_the_second_factor_with_its_published_demo_code() -> None:
    output = seed()

    assert "PUBLISHED (demo only)" in output
    for login in DEMO_LOGINS:
        device = TOTPDevice.objects.get(user__username=login.username)
        assert device.name == DEMO_AUTHENTICATOR_NAME
        assert f"  {login.username:<12} {secret_text(device)}" in output
    client = Client()
    client.post(reverse("admin:login"), {"username": "legal", "password": DEFAULT_DEMO_PASSWORD})
    code = demo_code("legal")
    assert client.post(reverse("admin:second_factor"), {"code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_login_with_an_authenticator_of_its_own_keeps_it() -> None:
    seed_demo_logins(password=DEFAULT_DEMO_PASSWORD)
    own = TOTPDevice.objects.create(user=User.objects.get(username="risk"), name="Phone", confirmed=True)

    output = seed()

    assert list(TOTPDevice.objects.filter(user__username="risk")) == [own]
    assert "  risk         (has an authenticator of its own)" in output
    with pytest.raises(CommandError, match="no demo authenticator"):
        demo_code("risk")


def test_an_existing_user_named_like_a_demo_login_gets_no_demo_authenticator() -> None:
    User.objects.create_superuser("admin", password="the-real-admins-own-password")

    output = seed()

    assert not TOTPDevice.objects.filter(user__username="admin").exists()
    assert "  admin        (enrols an authenticator at the first sign-in)" in output
    assert TOTPDevice.objects.filter(user__username="legal", name=DEMO_AUTHENTICATOR_NAME).exists()


def test_a_demo_login_whose_factor_was_reset_enrols_its_own() -> None:
    seed()
    TOTPDevice.objects.filter(user__username="legal").delete()  # as a reset leaves it

    seed()

    assert not TOTPDevice.objects.filter(user__username="legal").exists()


def test_a_production_seed_gives_no_demo_authenticator(settings: object) -> None:
    settings.DEBUG = False

    output = seed(allow_production=True)

    assert not TOTPDevice.objects.exists()
    assert "no demo authenticator was added" in output
    assert "PUBLISHED" not in output


def test_the_deploy_check_fails_while_a_demo_authenticator_exists(settings: object) -> None:
    from accounts.checks import demo_authenticator_check

    seed()
    assert demo_authenticator_check() == []  # a pilot install: expected

    settings.DEBUG = False
    [error] = demo_authenticator_check()

    assert error.id == "governance.E010"
    assert error.is_serious()
    assert "legal" in error.msg
    TOTPDevice.objects.filter(name=DEMO_AUTHENTICATOR_NAME).delete()
    assert demo_authenticator_check() == []


def test_demo_codes_are_refused_in_production_mode(settings: object) -> None:
    seed()
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is false"):
        demo_code("legal")


def test_a_second_run_leaves_a_changed_password_alone() -> None:
    seed()
    legal = User.objects.get(username="legal")
    legal.set_password("legal-changed-it-on-purpose")
    legal.save()

    seed()

    assert authenticates("legal", "legal-changed-it-on-purpose")


def test_refuses_in_production_mode(settings: object) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is false"):
        seed()
    assert not User.objects.exists()


def test_production_seed_needs_an_explicit_flag(settings: object) -> None:
    settings.DEBUG = False

    seed(allow_production=True)

    assert User.objects.exclude(username__startswith=SERVICE_ACCOUNT_PREFIX).count() == len(DEMO_LOGINS)


def test_rejects_a_blank_password() -> None:
    with pytest.raises(CommandError, match="cannot be empty"):
        seed(password="   ")
    assert not User.objects.exists()


def test_seeds_the_demo_organisation_through_the_services() -> None:
    from audit.choices import LedgerAction
    from audit.models import LedgerEntry
    from audit.verification import verify_chain
    from governance.choices import RequirementsState, RevisionState
    from governance.models import RaciMatrix, RequirementsDocument, RetrainingCadence, UseCase

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
    from audit.models import LedgerEntry

    seed()
    entries = LedgerEntry.objects.count()

    seed()

    assert LedgerEntry.objects.count() == entries


def test_seeds_dataset_versions_in_every_state_of_the_review_workflow() -> None:
    from lineage.choices import DatasetVersionState
    from lineage.models import DatasetVersion, LineageTemplate, SourceSystem
    from lineage.selectors import approved_for_training

    seed()

    assert set(DatasetVersion.objects.values_list("state", flat=True)) == set(DatasetVersionState.values)
    assert SourceSystem.objects.count() == 5
    assert LineageTemplate.objects.filter(name="Support chats (playbook)").exists()
    approved = DatasetVersion.objects.get(dataset__slug="support-chats", number=1)
    assert approved_for_training(approved) == (True, [])
    derived = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    assert derived.parent_edges.get().parent == approved
