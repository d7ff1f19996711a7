"""A signed-in session ends after 30 minutes idle, 12 hours after sign-in, and at once when its person is
deactivated. Time is moved by rewriting the session's own clocks, never by sleeping."""

import time

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from accounts.models import UserSession
from accounts.sessions import ACTIVITY_RESOLUTION_S, AUTHENTICATED_AT, SEEN_AT
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

IDLE = 30 * 60
ABSOLUTE = 12 * 3600
LANDING = "/admin/"
SIGN_IN = reverse("admin:login")


def signed_in(user) -> Client:
    client = Client()
    login_verified(client, user)  # force_login (user_logged_in fires, as after the sign-in form) + second factor
    return client


def shift_clocks(client: Client, *, signed_in_ago: float = 0, seen_ago: float = 0) -> None:
    """Pretend the session's sign-in and last activity happened this many seconds ago."""
    session = client.session
    now = time.time()
    session[AUTHENTICATED_AT] = now - signed_in_ago
    session[SEEN_AT] = now - seen_ago
    session.save()


def session_exists(client: Client) -> bool:
    return Session.objects.filter(session_key=client.session.session_key).exists()


# --- negative cases first ---------------------------------------------------------------------------------


def test_session_idle_longer_than_the_limit_is_ended_and_the_person_sent_to_sign_in(auditor) -> None:
    client = signed_in(auditor)
    key = client.session.session_key
    shift_clocks(client, signed_in_ago=IDLE + 5, seen_ago=IDLE + 1)

    response = client.get(LANDING)

    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next={LANDING}"
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    sign_in_page = client.get(response["Location"])
    assert "after 30 minutes without activity" in sign_in_page.content.decode()
    assert client.get(LANDING).status_code == 302  # still signed out


def test_active_session_older_than_the_absolute_limit_is_ended(auditor) -> None:
    client = signed_in(auditor)
    shift_clocks(client, signed_in_ago=ABSOLUTE + 1, seen_ago=10)

    response = client.get(LANDING)

    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next={LANDING}"
    assert "you signed in more than 12 hours ago" in client.get(response["Location"]).content.decode()
    assert SESSION_KEY not in client.session


def test_constant_activity_does_not_extend_a_session_past_the_absolute_limit(auditor) -> None:
    client = signed_in(auditor)
    shift_clocks(client, signed_in_ago=ABSOLUTE - 2 * ACTIVITY_RESOLUTION_S, seen_ago=ACTIVITY_RESOLUTION_S + 1)
    assert client.get(LANDING).status_code == 200  # refreshes last activity, not the sign-in time

    session = client.session
    session[AUTHENTICATED_AT] -= 3 * ACTIVITY_RESOLUTION_S
    session.save()

    assert client.get(LANDING).status_code == 302


def test_api_request_on_an_expired_session_gets_401_not_a_redirect(auditor) -> None:
    client = signed_in(auditor)
    shift_clocks(client, signed_in_ago=IDLE + 5, seen_ago=IDLE + 1)

    response = client.get(reverse("api-schema"))

    assert response.status_code == 401
    assert "without activity" in response.json()["detail"]
    assert SESSION_KEY not in client.session


def test_deactivating_a_person_deletes_all_their_sessions_at_once(auditor, user_in_role) -> None:
    laptop, phone = signed_in(auditor), signed_in(auditor)
    colleague = signed_in(user_in_role(Role.RISK_OFFICER, username="risk"))
    keys = [laptop.session.session_key, phone.session.session_key]
    assert Session.objects.filter(session_key__in=keys).count() == 2

    auditor.is_active = False
    auditor.save()

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=auditor).exists()
    assert laptop.get(LANDING).status_code == 302
    assert phone.get(reverse("api-schema")).status_code in {401, 403}  # no session left: anonymous
    assert colleague.get(LANDING).status_code == 200  # nobody else is signed out


def test_deactivating_in_the_admin_ends_the_persons_sessions(auditor, demo_users) -> None:
    victim_client = signed_in(auditor)
    administrator = demo_users["admin"]
    admin_client = signed_in(administrator)
    change_url = reverse("admin:auth_user_change", args=[auditor.pk])
    data = {
        "username": auditor.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_staff": "on",  # is_active left out: the box is unticked
        "groups": [group.pk for group in auditor.groups.all()],
        "date_joined_0": auditor.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": auditor.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }

    response = admin_client.post(change_url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    auditor.refresh_from_db()
    assert not auditor.is_active
    assert not session_exists(victim_client)
    assert victim_client.get(LANDING).status_code == 302


def test_deactivation_that_skips_save_is_caught_on_the_next_request(auditor) -> None:
    client = signed_in(auditor)
    key = client.session.session_key
    get_user_model().objects.filter(pk=auditor.pk).update(is_active=False)  # no signal fires

    response = client.get(LANDING)

    assert response.status_code == 302
    assert response["Location"].startswith(SIGN_IN)
    assert not Session.objects.filter(session_key=key).exists()


# --- what still works ---------------------------------------------------------------------------------------


def test_session_just_inside_both_limits_lives_and_its_activity_is_recorded(auditor) -> None:
    client = signed_in(auditor)
    shift_clocks(client, signed_in_ago=ABSOLUTE - 60, seen_ago=IDLE - 60)
    before = time.time()

    assert client.get(LANDING).status_code == 200

    assert client.session[SEEN_AT] >= before


def test_activity_is_written_at_most_once_a_minute(auditor) -> None:
    client = signed_in(auditor)
    shift_clocks(client, seen_ago=5)
    seen = client.session[SEEN_AT]

    assert client.get(LANDING).status_code == 200

    assert client.session[SEEN_AT] == seen


def test_limits_come_from_settings(auditor, settings) -> None:
    settings.SESSION_IDLE_TIMEOUT_S = 120
    client = signed_in(auditor)
    shift_clocks(client, seen_ago=121)

    response = client.get(LANDING)

    assert response.status_code == 302
    assert "after 2 minutes without activity" in client.get(response["Location"]).content.decode()


def test_sign_in_starts_both_clocks_and_indexes_the_session_and_sign_out_removes_it(auditor) -> None:
    before = time.time()
    client = signed_in(auditor)
    key = client.session.session_key
    assert client.session[AUTHENTICATED_AT] >= before
    assert client.session[SEEN_AT] >= before
    assert UserSession.objects.filter(user=auditor, session_key=key).exists()

    client.post(reverse("admin:logout"))

    assert not UserSession.objects.filter(session_key=key).exists()


def test_sign_in_forgets_index_rows_of_sessions_that_no_longer_exist(auditor) -> None:
    old = signed_in(auditor)
    old_key = old.session.session_key
    Session.objects.filter(session_key=old_key).delete()  # expired and cleared by clearsessions

    signed_in(auditor)

    assert not UserSession.objects.filter(session_key=old_key).exists()
    assert UserSession.objects.filter(user=auditor).count() == 1
