"""The portal's 403 page says why and offers a way on, in the admin's look; the browser's icon request finds one."""

import json

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.choices import Role
from audit.ledger import ActionDenied
from portal.views import DEFAULT_REFUSAL, permission_denied
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def test_an_admin_page_a_role_does_not_allow_says_what_it_needs_and_which_roles_have_it(
    client: Client, user_in_role
) -> None:
    legal = user_in_role(Role.LEGAL_REVIEWER, username="legal")
    login_verified(client, legal)

    response = client.get(reverse("admin:registry_trainingrun_add"), HTTP_REFERER="http://testserver/admin/")
    page = response.content.decode()

    assert response.status_code == 403
    assert "LLM Governance Portal" in page  # the admin's header: not a bare "403 Forbidden"
    assert "Your roles do not allow you to add training runs. Roles that may: ML Engineer." in page
    assert 'href="http://testserver/admin/" id="back-link"' in page
    assert f'href="{reverse("admin:index")}" id="home-link"' in page


def test_a_refusal_that_carries_a_reason_shows_it(rf: RequestFactory, user_in_role) -> None:
    request = rf.get("/admin/evidence/evidencepack/1/download/")
    request.user = user_in_role(Role.LEGAL_REVIEWER, username="legal")
    denial = ActionDenied("Only Auditors may download evidence packs.", actor=request.user, attempted="download")

    response = permission_denied(request, denial)

    assert response.status_code == 403
    assert "Only Auditors may download evidence packs." in response.content.decode()


@pytest.mark.parametrize("referrer", ["https://elsewhere.example/phish", "javascript:alert(1)", ""])
def test_the_way_back_is_offered_only_to_a_page_of_the_portal(rf: RequestFactory, referrer: str, user_in_role) -> None:
    request = rf.get("/admin/auth/user/", HTTP_REFERER=referrer)
    request.user = user_in_role(Role.AUDITOR, username="auditor")

    page = permission_denied(request, None).content.decode()

    assert 'id="back-link"' not in page
    assert "elsewhere.example" not in page
    assert DEFAULT_REFUSAL in page  # no admin URL resolved here, so the general reason


def test_under_the_api_a_refusal_is_json(rf: RequestFactory) -> None:
    response = permission_denied(rf.get("/api/v1/anything"), ActionDenied("No.", actor=None, attempted="x"))

    assert response.status_code == 403
    assert json.loads(response.content) == {"detail": "No."}


def test_the_favicon_comes_from_the_portals_own_static_files(client: Client) -> None:
    redirect = client.get("/favicon.ico")
    icon = client.get(redirect["Location"])

    assert redirect.status_code == 301
    assert redirect["Location"].startswith("/static/portal/favicon")
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
