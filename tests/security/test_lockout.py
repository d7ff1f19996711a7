"""Sign-in throttling: after the configured number of failures a username is locked out from that address (the
right password is refused too) until the cool-off passes or a Security Reviewer lifts it. Failures and
lockouts are in the ledger, never a password. Behind a proxy the forwarded address counts, and a forged
extra hop does not get around the lock."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin.second_factor import PENDING_KEY
from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.sign_in import client_address, lockout_lift
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from tests.signing_in import enrolled_authenticator, login_verified

pytestmark = pytest.mark.django_db

SIGN_IN = reverse("admin:login")
VERIFY = reverse("admin:second_factor")
WRONG = "not-the-password-at-all"
LIMIT = 5


@pytest.fixture(autouse=True)
def _limit(settings) -> None:
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def legal(legal):
    """The Legal reviewer persona, enrolled in the second factor."""
    enrolled_authenticator(legal)
    return legal


def attempt(client: Client, password: str, username: str = "legal", **meta: str):
    return client.post(SIGN_IN, {"username": username, "password": password, "next": "/admin/"}, **meta)


def fail(times: int, username: str = "legal", **meta: str) -> list[int]:
    return [attempt(Client(), WRONG, username, **meta).status_code for _ in range(times)]


def locked(response) -> bool:
    return response.status_code == 429 and 'id="locked-out"' in response.content.decode()


def entries(action: LedgerAction) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action=action).order_by("sequence"))


def test_the_nth_failure_locks_and_the_right_password_is_then_refused(legal) -> None:
    assert fail(LIMIT - 1) == [200] * (LIMIT - 1)  # the login form again, with its error

    last = attempt(Client(), WRONG)
    refused_client = Client()
    refused = attempt(refused_client, DEFAULT_DEMO_PASSWORD)

    assert locked(last)
    assert locked(refused)
    assert PENDING_KEY not in refused_client.session
    failures = entries(LedgerAction.LOGIN_FAILED)
    assert len(failures) == LIMIT + 1
    assert all(entry.payload["username"] == "legal" and entry.payload["step"] == "password" for entry in failures)
    assert failures[-1].payload["locked_out"] is True
    [lockout] = entries(LedgerAction.LOCKOUT)
    assert (lockout.payload["username"], lockout.payload["failures"]) == ("legal", LIMIT)
    assert lockout.object_id == str(legal.pk)
    for entry in LedgerEntry.objects.all():
        assert WRONG not in entry.canonical.decode()
        assert DEFAULT_DEMO_PASSWORD not in entry.canonical.decode()


def test_a_made_up_username_is_logged_not_put_in_the_ledger(legal, caplog) -> None:
    made_up = "no-such-person-Secret123"

    statuses = fail(LIMIT + 1, username=made_up)

    assert statuses[-1] == 429  # axes still counts it and locks it out
    assert AccessAttempt.objects.filter(username=made_up).exists()
    assert not LedgerEntry.objects.filter(action__in=[LedgerAction.LOGIN_FAILED, LedgerAction.LOCKOUT]).exists()
    assert "unknown username" in caplog.text
    assert made_up not in caplog.text

    attempt(Client(), WRONG)  # an existing account's failure is still evidence
    [failure] = entries(LedgerAction.LOGIN_FAILED)
    assert (failure.payload["username"], failure.object_id) == ("legal", str(legal.pk))


def test_fewer_failures_than_the_limit_lock_nothing(legal) -> None:
    fail(LIMIT - 1)

    response = attempt(Client(), DEFAULT_DEMO_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == VERIFY
    assert not entries(LedgerAction.LOCKOUT)


def test_the_lockout_page_says_what_to_do(legal) -> None:
    fail(LIMIT)

    page = attempt(Client(), DEFAULT_DEMO_PASSWORD).content.decode()

    assert f"Sign-in locked after {LIMIT} failed attempts" in page
    assert "Try again in 15 minutes" in page
    assert "Security Reviewer" in page


def test_the_lock_holds_one_username_from_one_address(legal, user_in_role) -> None:
    user_in_role(Role.AUDITOR, username="auditor")
    fail(LIMIT, REMOTE_ADDR="192.0.2.10")

    assert locked(attempt(Client(), DEFAULT_DEMO_PASSWORD, REMOTE_ADDR="192.0.2.10"))
    assert attempt(Client(), DEFAULT_DEMO_PASSWORD, REMOTE_ADDR="192.0.2.11").status_code == 302
    assert attempt(Client(), DEFAULT_DEMO_PASSWORD, "auditor", REMOTE_ADDR="192.0.2.10").status_code == 302


def test_the_cool_off_ends_the_lockout(legal) -> None:
    fail(LIMIT)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert attempt(Client(), DEFAULT_DEMO_PASSWORD).status_code == 302


def test_wrong_second_factor_codes_count_towards_the_lockout(client: Client, legal) -> None:
    attempt(client, DEFAULT_DEMO_PASSWORD)
    device = TOTPDevice.objects.get(user=legal)
    statuses = []
    for _ in range(LIMIT):
        device.throttling_failure_timestamp = None  # past the device's own throttle: count axes' lock alone
        device.save()
        statuses.append(client.post(VERIFY, {"code": "000000"}).status_code)

    assert statuses[:-1] == [403] * (LIMIT - 1)
    assert statuses[-1] == 429
    assert SESSION_KEY not in client.session
    [lockout] = entries(LedgerAction.LOCKOUT)
    assert lockout.payload["username"] == "legal"
    assert {entry.payload["step"] for entry in entries(LedgerAction.LOGIN_FAILED)} == {"second factor"}
    assert locked(attempt(Client(), DEFAULT_DEMO_PASSWORD))


# --- Behind a reverse proxy ---------------------------------------------------------------------------------


def test_without_trusted_proxies_a_forwarded_address_is_ignored() -> None:
    request = RequestFactory().post(SIGN_IN, REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert client_address(request) == "192.0.2.10"


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),  # what the client wrote itself stands to the left
        ("not-an-address", "10.0.0.2"),
        ("", "10.0.0.2"),
    ],
)
def test_behind_one_proxy_the_address_it_saw_is_the_client(settings, forwarded: str, client: str) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().post(SIGN_IN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == client


def test_behind_a_proxy_a_forged_extra_hop_does_not_evade_the_lock(legal, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    fail(LIMIT, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")

    forged = attempt(
        Client(), DEFAULT_DEMO_PASSWORD, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    neighbour = attempt(Client(), DEFAULT_DEMO_PASSWORD, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert locked(forged)
    assert neighbour.status_code == 302  # another client behind the same proxy is not locked out
    assert entries(LedgerAction.LOCKOUT)[0].payload["ip_address"] == "203.0.113.7"


# --- Lifting a lockout --------------------------------------------------------------------------------------


def test_only_a_security_reviewer_or_an_administrator_lifts_a_lockout(legal, user_in_role) -> None:
    fail(LIMIT)
    engineer = user_in_role(Role.ML_ENGINEER, username="engineer")

    with pytest.raises(ActionDenied, match="Security Reviewer"):
        lockout_lift(attempt=AccessAttempt.objects.get(), actor=engineer)

    assert locked(attempt(Client(), DEFAULT_DEMO_PASSWORD))
    assert entries(LedgerAction.DENIED)[-1].actor == engineer


def test_a_security_reviewer_lifts_a_lockout_in_the_admin(client: Client, legal, user_in_role) -> None:
    fail(LIMIT)
    security = user_in_role(Role.SECURITY_REVIEWER, username="security")
    login_verified(client, security)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "legal" in client.get(changelist).content.decode()

    response = client.post(changelist, {"action": "lift_lockout", "_selected_action": [AccessAttempt.objects.get().pk]})

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    [unlock] = entries(LedgerAction.UNLOCK)
    assert (unlock.actor, unlock.payload["username"], unlock.payload["failures"]) == (security, "legal", LIMIT)
    assert attempt(Client(), DEFAULT_DEMO_PASSWORD).status_code == 302


def test_the_lockout_admin_is_hidden_from_other_roles(client: Client, user_in_role) -> None:
    login_verified(client, user_in_role(Role.AUDITOR, username="auditor"))

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
