"""An administrator issues a pipeline token in a real browser, copies the secret from the one page that shows
it, and the pipeline uses it against the API; the secret is nowhere to be seen afterwards."""

import json
import urllib.request

import pytest

from accounts.models import PipelineToken
from governance.models import UseCase
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_get(url: str, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the live server on loopback
        return response.status, json.loads(response.read())


def test_an_administrator_issues_a_token_sees_it_once_and_the_pipeline_uses_it(live_server, demo_organisation, page):
    use_case = UseCase.objects.get(slug="support-assistant")
    sign_in(page, live_server.url, "admin")

    page.goto(f"{live_server.url}/admin/accounts/pipelinetoken/")
    page.get_by_role("link", name="Issue token").click()
    page.fill("#id_service_account", "release-bot")
    page.fill("#id_name", "Release pipeline")
    page.check(f"input[name=use_cases][value='{use_case.pk}']")
    page.check("input[name=scopes][value='deployments:read']")
    page.check("input[name=scopes][value='gates:read']")
    page.fill("#id_expires_in_days", "30")
    page.fill("#id_rate_limit", "120/min")
    page.click("input[type=submit][value='Issue the token']")

    secret = page.input_value("#issued-secret")
    assert secret.startswith("pt_")
    assert page.inner_text("#issued-account") == "svc-release-bot"
    assert "shown only on this page" in page.inner_text("#content-main")
    token = PipelineToken.objects.get()
    assert page.inner_text("#issued-prefix") == token.prefix

    status, body = api_get(f"{live_server.url}/api/v1/deployments/support-assistant/dev", secret)
    assert status == 200
    assert body["use_case"] == "support-assistant"

    page.get_by_role("link", name="Back to the pipeline tokens").click()
    page.wait_for_selector("#result_list")
    assert token.prefix in page.content()
    assert secret not in page.content()
    page.goto(f"{live_server.url}/admin/accounts/pipelinetoken/{token.pk}/change/")
    assert "120/min" in page.content()
    assert secret not in page.content()
    cookies = " ".join(cookie["value"] for cookie in page.context.cookies())
    assert secret not in cookies
