"""In a real browser, the main pages break no rule of the Content Security Policy and log no error, and the policy
does block what it should: an inline script without the nonce never runs."""

import pytest
from django.urls import reverse

from lineage.models import DatasetVersion
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Registered before any page script runs: every violation the browser reports, kept for the test to read.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile);
});
"""


#: Chromium logs a failed load without its URL; failed loads are collected with their URL instead.
FAILED_LOAD = "Failed to load resource"


def watched(page) -> list[str]:
    """Console errors, uncaught page errors and failed loads (except the favicon, which the portal has none of)."""
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and not message.text.startswith(FAILED_LOAD):
            problems.append(message.text)

    def on_response(response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script(COLLECT_VIOLATIONS)
    return problems


def visit(page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    return [f"{url}: {violation}" for violation in page.evaluate("window.__cspViolations")]


def test_main_pages_raise_no_policy_violation_and_no_console_error(live_server, demo_lineage, page) -> None:
    problems = watched(page)
    base = live_server.url
    sign_in(page, base, "admin")  # the administrator may open every one of these pages
    version = DatasetVersion.objects.order_by("pk").first()
    pages = [
        "/admin/",
        reverse("admin:audit_ledgerentry_changelist"),
        reverse("admin:audit_signature_changelist"),
        reverse("admin:governance_usecase_changelist"),
        reverse("admin:lineage_datasetversion_changelist"),
        reverse("admin:lineage_datasetversion_change", args=[version.pk]),
        reverse("admin:auth_user_add"),
        reverse("admin:auth_user_change", args=[demo_lineage["steward"].pk]),  # date widgets, filter_horizontal
        reverse("admin:password_change"),
    ]

    violations = [violation for url in pages for violation in visit(page, f"{base}{url}")]

    assert violations == []
    assert problems == []


def test_the_api_docs_render_from_our_own_files_within_the_policy(live_server, demo_users, page) -> None:
    problems = watched(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, live_server.url, "mleng")

    violations = visit(page, f"{live_server.url}{reverse('api-docs')}")
    page.wait_for_selector(".swagger-ui .info .title")

    assert "LLM Governance Portal API" in page.inner_text(".swagger-ui .info .title")
    assert violations == []
    assert problems == []
    assert [url for url in requested if not url.startswith(live_server.url)] == []


def test_an_inline_script_without_the_nonce_is_blocked_and_reported(live_server, demo_users, page) -> None:
    watched(page)
    sign_in(page, live_server.url, "auditor")

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true;";
          document.body.appendChild(script);
          const handler = document.createElement("div");
          handler.setAttribute("onclick", "window.__clicked = true;");
          document.body.appendChild(handler);
          handler.click();
        }"""
    )
    page.wait_for_function("window.__cspViolations.length >= 2")

    assert page.evaluate("window.__injected === undefined && window.__clicked === undefined")
    violations = page.evaluate("window.__cspViolations")
    assert any(violation.startswith("script-src") for violation in violations), violations


def test_a_pack_being_rendered_polls_its_progress_from_the_static_script(live_server, world, page) -> None:
    """The progress poll used to be an inline script; it is a static file now, and still polls."""
    from evidence.services import evidence_pack_request

    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)
    progress_url = reverse("admin:evidence_evidencepack_progress", args=[pack.pk])
    problems = watched(page)
    sign_in(page, live_server.url, "auditor")

    with page.expect_response(lambda response: response.url.endswith(progress_url)) as polled:
        violations = visit(page, f"{live_server.url}{reverse('admin:evidence_evidencepack_change', args=[pack.pk])}")

    assert polled.value.status == 200
    assert polled.value.json()["status"] == "queued"
    assert violations == []
    assert problems == []
