"""Every kind of response carries the Content Security Policy and the transport headers, and no page the portal
serves holds a script or style the policy would block."""

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.sessions import ACTIVITY_RESOLUTION_S, SEEN_AT
from evidence.models import EvidencePack
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

ONE_YEAR = 365 * 24 * 3600


def policy_of(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']} ({response.status_code})"
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_policy(response) -> None:
    policy = policy_of(response)
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive], directive
        assert "'unsafe-eval'" not in policy[directive], directive
    sources = [source for values in policy.values() for source in values]
    assert not [source for source in sources if "://" in source or source in {"*", "http:", "https:"}], sources


@pytest.fixture
def production_transport(settings) -> None:
    """The transport settings production runs with (tests/test_settings.py checks that production has them)."""
    settings.SECURE_HSTS_SECONDS = ONE_YEAR
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


def signed_in(user) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def ready_pack(world, django_capture_on_commit_callbacks) -> EvidencePack:
    model_version = world.model()
    client = signed_in(world["auditor"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:evidence_evidencepack_model_version", args=[model_version.pk]), {"idempotency_key": "h-1"}
        )
    return EvidencePack.objects.get()


RESPONSES: dict[str, tuple[str, int, str]] = {
    # name: (how it is fetched, status, content type)
    "admin page": ("auditor /admin/", 200, "text/html"),
    "login page": ("anonymous /admin/login/", 200, "text/html"),
    "API JSON": ("auditor /api/schema/?format=json", 200, "application/vnd.oai.openapi+json"),
    "API error JSON": ("anonymous /api/v1/gates/support-assistant:1/prod", 401, "application/json"),
    "404": ("auditor /admin/no-such-page/", 404, "text/html"),
    "403": ("auditor /admin/auth/user/add/", 403, "text/html"),
    "static file": ("anonymous /static/portal/portal.css", 200, "text/css"),
    "healthz": ("anonymous /healthz", 200, "application/json"),
    "redirect": ("anonymous /", 302, ""),
    "ledger export download": ("auditor /admin/audit/ledgerentry/export.jsonl", 200, ""),
}


@pytest.mark.usefixtures("production_transport")
@pytest.mark.parametrize("name", list(RESPONSES))
def test_every_response_type_carries_the_policy_and_transport_headers(name: str, auditor) -> None:
    how, status, content_type = RESPONSES[name]
    who, url = how.split(" ", 1)
    client = signed_in(auditor) if who == "auditor" else Client()

    response = client.get(url, secure=True)

    assert response.status_code == status, name
    assert response.get("Content-Type", "").startswith(content_type), response.get("Content-Type")
    assert_strict_policy(response)
    assert response["Strict-Transport-Security"] == f"max-age={ONE_YEAR}; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if name != "static file":  # WhiteNoise answers before the clickjacking middleware; frame-ancestors covers it
        assert response["X-Frame-Options"] == "DENY"


@pytest.mark.usefixtures("production_transport", "_media_in_tmp")
def test_evidence_pack_pdf_download_carries_the_policy_and_transport_headers(
    world, django_capture_on_commit_callbacks
) -> None:
    pack = ready_pack(world, django_capture_on_commit_callbacks)
    client = signed_in(world["auditor"])

    response = client.get(reverse("admin:evidence_evidencepack_download", args=[pack.pk]), secure=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert_strict_policy(response)
    assert response["Strict-Transport-Security"].startswith(f"max-age={ONE_YEAR}")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.usefixtures("production_transport")
def test_cookies_are_secure_and_http_only_in_production(auditor) -> None:
    login_page = Client().get(reverse("admin:login"), secure=True)
    assert login_page.cookies["csrftoken"]["secure"] is True
    assert login_page.cookies["csrftoken"]["httponly"] is True  # no script of the portal reads it

    client = signed_in(auditor)
    session = client.session
    session[SEEN_AT] -= 2 * ACTIVITY_RESOLUTION_S  # so that this request saves the session and sets its cookie
    session.save()
    response = client.get("/admin/", secure=True)

    assert response.status_code == 200
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_a_page_using_the_nonce_gets_the_same_nonce_in_its_policy(auditor) -> None:
    response = signed_in(auditor).get(reverse("api-docs"))

    nonces = [source for source in policy_of(response)["script-src"] if source.startswith("'nonce-")]
    assert len(nonces) == 1
    assert f'nonce="{nonces[0][7:-1]}"' in response.content.decode()


def test_api_docs_load_nothing_from_another_origin_and_inline_code_carries_the_nonce(auditor) -> None:
    response = signed_in(auditor).get(reverse("api-docs"))

    assert response.status_code == 200
    assert_strict_policy(response)
    html = response.content.decode()
    # Not in the nonces, which are random base64 and may spell it by chance.
    assert "cdn" not in re.sub(r'nonce="[^"]*"', 'nonce=""', html).lower()
    assert "//" not in "".join(attribute for attribute in _urls_in(html))
    problems = InlineCodeFinder.problems_in(html, nonce_of(response))
    assert problems == []


def nonce_of(response) -> str | None:
    nonces = [source for source in policy_of(response)["script-src"] if source.startswith("'nonce-")]
    return nonces[0][7:-1] if nonces else None


def _urls_in(html: str) -> list[str]:
    urls: list[str] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            urls.extend(value or "" for name, value in attrs if name in {"src", "href"})

    Collector().feed(html)
    return urls


class InlineCodeFinder(HTMLParser):
    """What the policy blocks: inline <script>/<style> without the response's nonce, inline event handlers,
    style attributes and javascript: URLs."""

    def __init__(self, nonce: str | None) -> None:
        super().__init__()
        self.nonce = nonce
        self.problems: list[str] = []

    @classmethod
    def problems_in(cls, html: str, nonce: str | None) -> list[str]:
        finder = cls(nonce)
        finder.feed(html)
        return finder.problems

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if (
            tag in {"script", "style"}
            and "src" not in values
            and (self.nonce is None or values.get("nonce") != self.nonce)
        ):
            self.problems.append(f"<{tag}> without the nonce")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")


def _admin_pages() -> list[str]:
    """Every registered model's list and add page: Django's own templates and the portal's overrides."""
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        for view in ("changelist", "add"):
            try:
                urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"))
            except NoReverseMatch:
                continue
    return urls


def test_no_admin_page_holds_code_the_policy_would_block(demo_lineage) -> None:
    client = signed_in(demo_lineage["admin"])
    checked: Callable[[str], list[str]]

    def checked(url: str) -> list[str]:
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            return []
        return [
            f"{url}: {problem}"
            for problem in InlineCodeFinder.problems_in(response.content.decode(), nonce_of(response))
        ]

    problems = [problem for url in _admin_pages() for problem in checked(url)]

    assert problems == []
