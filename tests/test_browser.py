"""User journey in a real browser: a demo user signs in to the admin and lands on their desk."""

import pytest
from django.contrib.auth import get_user_model

from accounts.demo import DEFAULT_DEMO_PASSWORD
from tests.signing_in import second_factor_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: object, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    code = second_factor_code(get_user_model().objects.get(username=username))
    page.click("input[type=submit]")
    page.fill("#id_code", code)
    page.click("#second-factor-form input[type=submit]")


def test_legal_reviewer_signs_in_and_sees_their_landing_page(live_server, demo_users, page) -> None:
    sign_in(page, live_server.url, "legal")

    page.wait_for_selector("#waiting-heading")
    assert page.title().endswith("LLM Governance Portal")
    assert page.inner_text("#site-name").strip() == "LLM Governance Portal"
    desk = page.locator('[data-role="Legal Reviewer"]')
    assert "legal basis" in desk.inner_text()
    assert page.locator('[data-role="Auditor"]').count() == 0


def test_a_wrong_password_keeps_the_user_out_with_a_clear_message(live_server, demo_users, page) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "auditor")
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")

    assert "Please enter the correct username and password" in page.inner_text(".errornote")
    assert page.locator("#waiting-heading").count() == 0


def test_a_sign_in_sent_elsewhere_lands_on_the_desk_and_no_script_reads_the_csrf_cookie(
    live_server, demo_users, page
) -> None:
    """The two sign-in forms post with a CSRF cookie that page scripts cannot read (``CSRF_COOKIE_HTTPONLY``)."""
    page.goto(f"{live_server.url}/admin/login/?next=https://elsewhere.example/")
    page.fill("#id_username", "legal")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    code = second_factor_code(get_user_model().objects.get(username="legal"))
    page.click("input[type=submit]")
    page.fill("#id_code", code)
    page.click("#second-factor-form input[type=submit]")

    page.wait_for_selector("#waiting-heading")
    assert page.url == f"{live_server.url}/admin/"
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["csrftoken"]["httpOnly"] is True
    assert "csrftoken" not in page.evaluate("document.cookie")
