"""The landing page's record search: an ID opens its record; anything else says what it looked for, and errs nowhere."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

FIND = "admin:find_record"


@pytest.fixture
def auditor_client(client: Client, user_in_role) -> Client:
    login_verified(client, user_in_role(Role.AUDITOR))
    return client


@pytest.mark.parametrize(
    "term",
    ["support-assistant:999", "support-chats@999", "CT-999", "INC-999", "CT-abc", "INC-" + "9" * 40, "x" * 5000, "%"],
)
def test_an_unknown_or_malformed_id_is_a_404_that_names_what_was_searched(auditor_client, term) -> None:
    response = auditor_client.get(reverse(FIND), {"q": term})

    assert response.status_code == 404
    page = response.content.decode()
    assert "No model version, dataset version, change ticket or incident is called" in page
    assert 'id="record-search-q"' in page  # the box again, to try another ID


def test_an_empty_search_asks_for_an_id(auditor_client) -> None:
    response = auditor_client.get(reverse(FIND), {"q": "  "})

    assert response.status_code == 404
    assert "Type an ID to open its record." in response.content.decode()


def test_someone_not_signed_in_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse(FIND), {"q": "CT-1"})

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_box_is_offered_to_portal_roles_only(client: Client, user_in_role, django_user_model) -> None:
    staff = django_user_model.objects.create_user(username="staff-only", password="x", is_staff=True)
    login_verified(client, staff)
    assert 'id="record-search"' not in client.get(reverse("admin:index")).content.decode()

    login_verified(client, user_in_role(Role.ML_ENGINEER))
    assert 'id="record-search"' in client.get(reverse("admin:index")).content.decode()
