"""Every person signs in with a password and a second factor (an authenticator app, or a one-time backup code).
A password alone opens no session; the admin and every signing form refuse a session without the second
factor; enrolling, renewing and resetting are in the ledger; wrong codes are throttled."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin.second_factor import PENDING_KEY
from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.services.second_factor import authenticator_of, backup_codes_renew, second_factor_reset, secret_text
from accounts.services.tokens import service_account_for
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from tests.signing_in import authenticator_code, enrolled_authenticator, login_verified

pytestmark = pytest.mark.django_db

LANDING = "/admin/"
SIGN_IN = reverse("admin:login")
VERIFY = reverse("admin:second_factor")
ENROL = reverse("admin:second_factor_enrol")


def password_step(client: Client, username: str, password: str = DEFAULT_DEMO_PASSWORD, **extra: str):
    return client.post(SIGN_IN, {"username": username, "password": password, "next": LANDING}, **extra)


def entries(action: LedgerAction) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action=action).order_by("sequence"))


# --- Without the second factor: nothing --------------------------------------------------------------------


def test_a_password_alone_opens_no_session(client: Client, legal) -> None:
    enrolled_authenticator(legal)

    response = password_step(client, "legal")

    assert response.status_code == 302
    assert response["Location"] == VERIFY
    assert SESSION_KEY not in client.session  # nobody is signed in yet
    assert client.get(LANDING).status_code == 302
    assert client.get(reverse("api-schema")).status_code in (401, 403)


def test_a_session_signed_in_without_the_second_factor_is_refused_by_the_admin(client: Client, legal) -> None:
    client.force_login(legal)  # authenticated, as a password alone would have done, but not verified

    response = client.get(LANDING)

    assert response.status_code == 302
    assert response["Location"].startswith(SIGN_IN)


def test_the_api_accepts_a_session_only_with_the_second_factor(client: Client, legal) -> None:
    client.force_login(legal)
    assert client.get(reverse("api-schema")).status_code in (401, 403)

    login_verified(client, legal)
    assert client.get(reverse("api-schema")).status_code == 200


def test_a_wrong_code_is_refused_recorded_and_opens_no_session(client: Client, legal) -> None:
    enrolled_authenticator(legal)
    password_step(client, "legal")

    response = client.post(VERIFY, {"code": "000000"})

    assert response.status_code == 403
    assert "not correct" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert client.get(LANDING).status_code == 302
    [failure] = entries(LedgerAction.LOGIN_FAILED)
    assert failure.payload["username"] == "legal"
    assert failure.payload["step"] == "second factor"
    assert "000000" not in failure.canonical.decode()


@pytest.mark.parametrize("code", ["", "x" * 200, "12345", "1234567"])
def test_malformed_codes_are_refused(client: Client, legal, code: str) -> None:
    enrolled_authenticator(legal)
    password_step(client, "legal")

    response = client.post(VERIFY, {"code": code})

    assert response.status_code in (400, 403)
    assert SESSION_KEY not in client.session


def test_the_second_factor_step_is_throttled(client: Client, legal) -> None:
    device = enrolled_authenticator(legal)
    password_step(client, "legal")
    client.post(VERIFY, {"code": "000000"})

    # the right code straight after a wrong one: the device is throttled and does not even try it
    response = client.post(VERIFY, {"code": authenticator_code(device)})

    assert response.status_code == 403
    assert "Too many wrong codes" in response.content.decode()
    assert SESSION_KEY not in client.session
    device.refresh_from_db()
    assert device.throttling_failure_count == 1

    # once the delay has passed (moved by rewriting the device's own clock), the right code passes
    device.throttling_failure_timestamp = timezone.now() - timedelta(seconds=5)
    device.save()
    response = client.post(VERIFY, {"code": authenticator_code(device)})
    assert response.status_code == 302
    assert client.get(LANDING).status_code == 200


def test_the_password_step_expires(client: Client, legal, settings) -> None:
    device = enrolled_authenticator(legal)
    password_step(client, "legal")
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "since": time.time() - settings.SECOND_FACTOR_PENDING_SECONDS - 1}
    session.save()

    response = client.post(VERIFY, {"code": authenticator_code(device)})

    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    assert SESSION_KEY not in client.session


def test_the_second_factor_pages_need_the_password_step_first(client: Client) -> None:
    for page in (VERIFY, ENROL):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == SIGN_IN


def test_a_service_account_cannot_sign_in_interactively(client: Client, role_groups) -> None:
    account = service_account_for("ci-pipeline")

    response = password_step(client, account.username, "")

    assert response.status_code == 200  # the login form again, with its error
    assert PENDING_KEY not in client.session
    assert not account.has_usable_password()
    assert not account.is_staff


# --- With it ------------------------------------------------------------------------------------------------


def test_the_authenticator_code_signs_in_and_goes_where_asked(client: Client, legal) -> None:
    device = enrolled_authenticator(legal)
    client.post(SIGN_IN, {"username": "legal", "password": DEFAULT_DEMO_PASSWORD, "next": "/admin/governance/"})

    response = client.post(VERIFY, {"code": authenticator_code(device)})

    assert response.status_code == 302
    assert response["Location"] == "/admin/governance/"
    assert client.session[SESSION_KEY] == str(legal.pk)
    assert client.get(LANDING).status_code == 200
    assert not entries(LedgerAction.LOGIN_FAILED)


@pytest.mark.parametrize("unsafe", ["https://elsewhere.example/admin/", "//elsewhere.example/", ""])
def test_a_sign_in_asked_to_go_elsewhere_lands_on_the_desk(client: Client, legal, unsafe: str) -> None:
    device = enrolled_authenticator(legal)
    client.post(SIGN_IN, {"username": "legal", "password": DEFAULT_DEMO_PASSWORD, "next": unsafe})

    response = client.post(VERIFY, {"code": authenticator_code(device)})

    assert response.status_code == 302
    assert response["Location"] == LANDING
    assert client.get(response["Location"]).status_code == 200


def test_the_first_sign_in_enrols_with_a_qr_code_and_shows_backup_codes_once(client: Client, legal) -> None:
    response = password_step(client, "legal")
    assert response["Location"] == ENROL

    page = client.get(ENROL).content.decode()
    device = TOTPDevice.objects.get(user=legal, confirmed=False)
    assert "<svg" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script: nothing a strict CSP would block
    assert secret_text(device) in page
    assert client.get(ENROL).content.decode().count(secret_text(device)) == 1  # same secret on reload
    assert TOTPDevice.objects.filter(user=legal).count() == 1

    response = client.post(ENROL, {"code": authenticator_code(device)})

    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(codes) == 10
    assert client.get(LANDING).status_code == 200  # signed in, verified
    device.refresh_from_db()
    assert device.confirmed
    [enrolment] = entries(LedgerAction.MFA_ENROLMENT)
    assert enrolment.payload["event"] == "enrolled"
    assert enrolment.actor == legal
    assert device.key not in enrolment.canonical.decode()
    assert not any(code in enrolment.canonical.decode() for code in codes)

    # a backup code signs in once, then never again
    other = Client()
    password_step(other, "legal")
    assert other.post(VERIFY, {"code": codes[0].upper()}).status_code == 302
    again = Client()
    password_step(again, "legal")
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 403


def test_the_secret_shown_to_one_sign_in_is_never_the_one_another_confirms(client: Client, legal) -> None:
    # someone who knows the password opens the enrolment page first and copies the key ...
    password_step(client, "legal")
    client.get(ENROL)
    copied = TOTPDevice.objects.get(user=legal, confirmed=False)

    # ... then the person signs in for the first time: their page shows a different key
    person = Client()
    password_step(person, "legal")
    page = person.get(ENROL).content.decode()
    shown = TOTPDevice.objects.get(user=legal, confirmed=False)
    assert shown.pk != copied.pk
    assert secret_text(shown) in page
    assert secret_text(copied) not in page
    assert person.get(ENROL).content.decode().count(secret_text(shown)) == 1  # kept on reload in this session

    # the first page's key confirms nothing, not even in the person's session
    assert person.post(ENROL, {"code": authenticator_code(copied)}).status_code == 403
    refused = client.post(ENROL, {"code": authenticator_code(copied)})
    assert refused.status_code == 409
    assert "started again in another sign-in" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=legal, confirmed=True).exists()
    assert SESSION_KEY not in client.session

    # each session only ever confirms the key its own page shows: the person reloads and confirms theirs
    person.get(ENROL)
    mine = TOTPDevice.objects.get(user=legal, confirmed=False)
    assert mine.pk not in (copied.pk, shown.pk)
    assert person.post(ENROL, {"code": authenticator_code(mine)}).status_code == 200
    assert TOTPDevice.objects.get(user=legal, confirmed=True).pk == mine.pk
    assert client.post(ENROL, {"code": "123456"})["Location"] == VERIFY


def test_enrolling_with_a_wrong_code_confirms_nothing(client: Client, legal) -> None:
    password_step(client, "legal")
    client.get(ENROL)

    response = client.post(ENROL, {"code": "000000"})

    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=legal, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=legal).exists()
    assert not entries(LedgerAction.MFA_ENROLMENT)
    assert SESSION_KEY not in client.session


def test_an_enrolled_person_cannot_enrol_a_second_authenticator_with_a_password_alone(client: Client, legal) -> None:
    enrolled_authenticator(legal)
    password_step(client, "legal")

    response = client.get(ENROL)

    assert response["Location"] == VERIFY
    assert TOTPDevice.objects.filter(user=legal).count() == 1


def test_new_backup_codes_replace_the_old_ones_and_are_recorded(client: Client, legal) -> None:
    login_verified(client, legal)
    first = backup_codes_renew(user=legal)

    response = client.post(
        reverse("admin:second_factor_backup_codes"), {"code": authenticator_code(authenticator_of(legal))}
    )

    assert response.status_code == 200
    second = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(second) == 10
    assert not set(first) & set(second)
    assert [entry.payload["event"] for entry in entries(LedgerAction.MFA_ENROLMENT)] == ["backup codes renewed"] * 2
    other = Client()
    password_step(other, "legal")
    assert other.post(VERIFY, {"code": first[0]}).status_code == 403


@pytest.mark.parametrize("code", [None, "", "000000", "backup"])
def test_new_backup_codes_need_a_current_authenticator_code(client: Client, legal, code: str | None) -> None:
    login_verified(client, legal)
    first = backup_codes_renew(user=legal)
    if code == "backup":
        code = first[0]  # a backup code is what is being replaced: it does not step up
    page = reverse("admin:second_factor_backup_codes")
    assert 'name="code"' in client.get(page).content.decode()

    response = client.post(page, {} if code is None else {"code": code})

    assert response.status_code in (400, 403)
    assert not re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert [entry.payload["event"] for entry in entries(LedgerAction.MFA_ENROLMENT)] == ["backup codes renewed"]
    assert set(StaticDevice.objects.get(user=legal).token_set.values_list("token", flat=True)) == set(first)


# --- Resetting a lost factor --------------------------------------------------------------------------------


def test_only_a_security_reviewer_or_an_administrator_resets_a_second_factor(legal, user_in_role) -> None:
    enrolled_authenticator(legal)
    engineer = user_in_role(Role.ML_ENGINEER, username="engineer")

    with pytest.raises(ActionDenied, match="Security Reviewer"):
        second_factor_reset(user=legal, actor=engineer, reason="lost phone")

    assert TOTPDevice.objects.filter(user=legal).exists()
    assert entries(LedgerAction.DENIED)[-1].actor == engineer


def test_a_reset_ends_the_verified_session_and_the_next_sign_in_enrols_anew(client: Client, legal, security) -> None:
    login_verified(client, legal)
    assert client.get(LANDING).status_code == 200

    second_factor_reset(user=legal, actor=security, reason="lost phone")

    assert client.get(LANDING).status_code == 302
    assert not TOTPDevice.objects.filter(user=legal).exists()
    [reset] = entries(LedgerAction.MFA_ENROLMENT)
    assert (reset.actor, reset.payload["event"], reset.payload["reason"]) == (security, "removed", "lost phone")
    fresh = Client()
    assert password_step(fresh, "legal")["Location"] == ENROL


def test_nobody_resets_their_own_second_factor(security) -> None:
    device = enrolled_authenticator(security)

    with pytest.raises(ActionDenied, match="own second factor"):
        second_factor_reset(user=security, actor=security, reason="lost phone")

    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    denial = entries(LedgerAction.DENIED)[-1]
    assert (denial.actor, denial.object_id) == (security, str(security.pk))
    assert not entries(LedgerAction.MFA_ENROLMENT)


def test_only_an_administrator_resets_an_administrators_second_factor(security, django_user_model) -> None:
    administrator = django_user_model.objects.create_superuser("boss", password=DEFAULT_DEMO_PASSWORD)
    other = django_user_model.objects.create_superuser("boss2", password=DEFAULT_DEMO_PASSWORD)
    enrolled_authenticator(administrator)

    with pytest.raises(ActionDenied, match="administrator's second factor"):
        second_factor_reset(user=administrator, actor=security, reason="lost phone")

    assert TOTPDevice.objects.filter(user=administrator).exists()
    assert entries(LedgerAction.DENIED)[-1].actor == security
    assert second_factor_reset(user=administrator, actor=other, reason="lost phone") == 1


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_a_reset_needs_a_reason(legal, security, reason: str) -> None:
    enrolled_authenticator(legal)

    with pytest.raises(ActionDenied, match="Say why"):
        second_factor_reset(user=legal, actor=security, reason=reason)

    assert TOTPDevice.objects.filter(user=legal).exists()


def test_the_authenticator_admin_resets_for_a_security_reviewer_and_is_hidden_from_others(
    client: Client, legal, security, user_in_role
) -> None:
    device = enrolled_authenticator(legal)
    changelist = reverse("admin:otp_totp_totpdevice_changelist")
    reset_page = reverse("admin:otp_totp_totpdevice_reset", args=[device.pk])
    login_verified(client, user_in_role(Role.ML_ENGINEER, username="engineer"))
    assert client.get(changelist).status_code == 403
    assert client.post(reset_page, {"reason": "lost phone"}).status_code == 403

    login_verified(client, security)
    page = client.get(changelist).content.decode()
    assert "legal" in page
    assert device.key not in page
    response = client.post(changelist, {"action": "reset_second_factor", "_selected_action": [device.pk]})
    assert response.status_code == 302
    assert response["Location"] == reset_page
    assert TOTPDevice.objects.filter(user=legal).exists()  # nothing happens before a reason is given

    assert client.post(reset_page, {"reason": ""}).status_code == 400
    assert TOTPDevice.objects.filter(user=legal).exists()
    response = client.post(reset_page, {"reason": "Lost her phone on the train; confirmed by video call."})

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=legal).exists()
    reset = entries(LedgerAction.MFA_ENROLMENT)[-1]
    assert reset.actor == get_user_model().objects.get(username="security")
    assert reset.payload["reason"] == "Lost her phone on the train; confirmed by video call."


def test_the_admin_refuses_a_reviewer_resetting_their_own_factor(client: Client, security) -> None:
    login_verified(client, security)
    device = TOTPDevice.objects.get(user=security)

    response = client.post(reverse("admin:otp_totp_totpdevice_reset", args=[device.pk]), {"reason": "new phone"})

    assert response.status_code == 403
    assert "own second factor" in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert entries(LedgerAction.DENIED)[-1].actor == security


# --- In a browser -------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_person_enrols_in_the_browser_and_lands_on_their_desk(live_server, demo_users, page) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "compliance")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#enrolment-qr-code svg")
    secret = page.inner_text("#enrolment-secret")
    device = TOTPDevice.objects.get(user__username="compliance", confirmed=False)
    assert secret == secret_text(device)  # what a person types into their app if they cannot scan

    page.fill("#id_code", authenticator_code(device))
    page.click("#second-factor-form input[type=submit]")
    page.wait_for_selector("#backup-codes")
    assert page.locator("#backup-codes li").count() == 10
    page.click("#continue")

    page.wait_for_selector("#waiting-heading")
    assert page.locator('[data-role="Compliance Reviewer"]').count() == 1
