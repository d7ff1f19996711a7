"""Refusals and the browser's own requests, in a real browser: a styled 403 that says why and leads on, and no
request of a page (the icon included) answered 404."""

import pytest

from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_legal_opening_the_training_run_form_reads_why_not_and_goes_back_to_their_desk(
    live_server, demo_organisation, page
) -> None:
    sign_in(page, live_server.url, "legal")
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)

    response = page.goto(f"{live_server.url}/admin/registry/trainingrun/add/")

    assert response.status == 403
    assert page.inner_text("#site-name") == "LLM Governance Portal"
    assert page.inner_text("#refusal-reason") == (
        "Your roles do not allow you to add training runs. Roles that may: ML Engineer."
    )
    page.click("#home-link")
    page.wait_for_selector("#waiting-heading")

    page.goto(f"{live_server.url}/admin/auth/user/", referer=f"{live_server.url}/admin/")
    assert "Your roles do not allow you to view users." in page.inner_text("#refusal-reason")
    page.click("#back-link")
    page.wait_for_selector("#waiting-heading")

    icon = page.goto(f"{live_server.url}/favicon.ico")
    assert icon.status == 200
    assert icon.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert missing == []
