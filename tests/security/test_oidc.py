"""Single sign-on against a real (tiny) OpenID provider on loopback: the authorization code flow with PKCE, an
RS256-signed ID token checked against the provider's JWKS, and roles set from the groups claim at every sign-in.
Local accounts keep working beside it, for break-glass administrators."""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.admin.second_factor import PENDING_KEY
from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.oidc import SSO_ACCOUNTS_GROUP, group_map
from audit.choices import LedgerAction
from audit.models import LedgerEntry, Signature
from tests.governed_app.services import memo_create
from tests.signing_in import authenticator_code, enrolled_authenticator, login_verified, second_factor_code

pytestmark = pytest.mark.django_db

CLIENT_ID = "governance-portal"
CLIENT_SECRET = "s3cret-for-tests-only"
GROUP_MAP = {"grc-auditors": "Auditor", "data-office": ["Data Steward"], "model-risk": "Risk Officer"}


class Provider:
    """An OpenID provider that signs in whoever the test says, the way a real one answers: /authorize redirects
    back with a one-time code, /token checks the client secret, redirect URI and PKCE verifier and returns an
    RS256 ID token, /jwks publishes the key, /userinfo answers for the access token."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_key = self.key  # a test may sign with another key, as a forger would
        self.kid = "test-key-1"
        self.claims: dict[str, Any] = {}
        self.id_token_overrides: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.requests_received = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                provider.requests_received += 1
                url = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(url.query).items()}
                if url.path == "/authorize":
                    provider.authorize(self, query)
                elif url.path == "/jwks":
                    self._json(200, {"keys": [provider.jwk()]})
                elif url.path == "/userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    claims = provider.access_tokens.get(token)
                    self._json(200, claims) if claims else self._json(401, {"error": "invalid_token"})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                provider.requests_received += 1
                length = int(self.headers.get("Content-Length", "0"))
                form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = provider.token(form) if self.path == "/token" else (404, {"error": "not_found"})
                self._json(status, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def jwk(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
            handler._json(400, {"error": "invalid_request"})
            return
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "claims": dict(self.claims),
            "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "redirect_uri": query["redirect_uri"],
        }
        handler.send_response(302)
        handler.send_header("Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")
        handler.end_headers()

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = self.codes.pop(form.get("code", ""), None)
        if (
            grant is None
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = grant["claims"]
        id_claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": claims["sub"],
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            "amr": ["pwd", "mfa"],
            **self.id_token_overrides,
        }
        id_token = jwt.encode(id_claims, self.signing_key, algorithm="RS256", headers={"kid": self.kid})
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = claims
        return 200, {"access_token": access_token, "token_type": "Bearer", "id_token": id_token, "expires_in": 300}


@pytest.fixture
def provider() -> Iterator[Provider]:
    op = Provider()
    op.thread.start()
    yield op
    op.server.shutdown()
    op.server.server_close()


@pytest.fixture
def sso(settings, provider: Provider, role_groups: None) -> Provider:
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_ISSUER = provider.url
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.url}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.url}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.url}/jwks"
    settings.OIDC_GROUP_MAP = json.dumps(GROUP_MAP)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.oidc.PortalOIDCBackend"]
    return provider


def through_sso(client: Client, provider: Provider, claims: dict[str, Any]) -> Any:
    """A person's browser: to the portal, to the provider, back to the portal's callback (redirects by hand)."""
    provider.claims = claims
    start = client.get("/oidc/authenticate/", {"next": "/admin/"})
    assert start.status_code == 302
    assert start["Location"].startswith(f"{provider.url}/authorize?")
    answer = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert (callback.netloc, callback.path) == ("testserver", "/oidc/callback/")
    return client.get(f"{callback.path}?{callback.query}")


def person(sub: str, *groups: str, **extra: Any) -> dict[str, Any]:
    return {
        "sub": sub,
        "email": f"{sub}@example.com",
        "given_name": "Ana",
        "family_name": "Lima",
        "groups": list(groups),
        **extra,
    }


def roles_of(username: str) -> set[str]:
    groups = get_user_model().objects.get(username=username).groups.filter(name__in=[role.value for role in Role])
    return set(groups.values_list("name", flat=True))


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


def awaiting_second_factor(client: Client) -> str | None:
    """Whom the identity provider vouched for: the portal's second factor comes next, as after a password."""
    pending = client.session.get(PENDING_KEY)
    return get_user_model().objects.get(pk=pending["user"]).username if pending else None


def refused(response: Any) -> str:
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/"
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


# --- Refusals ------------------------------------------------------------------------------------------------
def test_a_person_none_of_whose_groups_maps_to_a_role_is_refused_and_recorded(client, sso) -> None:
    response = through_sso(client, sso, person("u-1001", "everyone", "vpn-users"))

    assert "none of the person's groups maps to a portal role" in refused(response)
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None
    assert not get_user_model().objects.filter(username="u-1001").exists()
    entry = LedgerEntry.objects.get(action=LedgerAction.LOGIN_FAILED, actor_name="sso:u-1001")
    assert entry.payload == {"method": "sso", "reason": "none of the person's groups maps to a portal role"}


def test_an_id_token_signed_with_another_key_is_refused(client, sso) -> None:
    sso.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    response = through_sso(client, sso, person("u-1002", "grc-auditors"))

    assert "could not be verified" in refused(response)
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None
    assert not get_user_model().objects.filter(username="u-1002").exists()


@pytest.mark.parametrize(
    "override",
    [{"aud": "another-client"}, {"iss": "https://idp.example.net"}, {"exp": int(time.time()) - 3600}],
    ids=["audience", "issuer", "expired"],
)
def test_an_id_token_for_another_client_issuer_or_time_is_refused(client, sso, override) -> None:
    sso.id_token_overrides = override

    response = through_sso(client, sso, person("u-1003", "grc-auditors"))

    assert "could not be verified" in refused(response)
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None


def test_a_replayed_callback_signs_nobody_in(client, sso) -> None:
    sso.claims = person("u-1004", "grc-auditors")
    start = client.get("/oidc/authenticate/")
    callback = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=10).headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}")["Location"] == "/admin/second-factor/enrol/"
    client.logout()

    replay = client.get(f"{callback.path}?{callback.query}")

    refused(replay)
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None


def test_sso_cannot_take_over_a_local_break_glass_account(client, sso) -> None:
    admin = get_user_model().objects.create_superuser("admin", password=DEFAULT_DEMO_PASSWORD)

    response = through_sso(client, sso, person("admin", "grc-auditors", "data-office"))

    assert "a local account has this username" in refused(response)
    admin.refresh_from_db()
    assert admin.is_superuser
    assert admin.check_password(DEFAULT_DEMO_PASSWORD)
    assert roles_of("admin") == set()
    # The break-glass account still signs in with its password, with SSO switched on.
    sign_in_form = RequestFactory().post("/admin/login/")
    assert authenticate(sign_in_form, username="admin", password=DEFAULT_DEMO_PASSWORD) == admin


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("svc-ci-pipeline", "a service account has this username"),
        ("kiosk", "an account single sign-on did not create has this username"),
    ],
    ids=["service-account", "local-account-without-password"],
)
def test_sso_cannot_take_over_an_account_it_did_not_create(client, sso, username, reason) -> None:
    account = get_user_model().objects.create_user(username, is_staff=False)
    account.set_unusable_password()
    account.save()

    response = through_sso(client, sso, person(username, "grc-auditors", "data-office"))

    assert reason in refused(response)
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None
    account.refresh_from_db()
    assert not account.is_staff
    assert roles_of(username) == set()
    entry = LedgerEntry.objects.get(action=LedgerAction.LOGIN_FAILED, actor_name=f"sso:{username}")
    assert entry.payload["method"] == "sso"
    assert entry.payload["reason"].startswith(reason)
    assert entry.object_id == str(account.pk)


def test_sso_does_not_create_an_account_named_like_a_service_account(client, sso) -> None:
    response = through_sso(client, sso, person("svc-new-pipeline", "grc-auditors"))

    assert "service account names are reserved" in refused(response)
    assert not get_user_model().objects.filter(username="svc-new-pipeline").exists()


def test_an_account_sso_created_signs_in_through_sso_again(client, sso) -> None:
    through_sso(client, sso, person("u-1010", "grc-auditors"))
    client.logout()

    again = through_sso(Client(), sso, person("u-1010", "grc-auditors"))

    assert again["Location"] == "/admin/second-factor/enrol/"
    assert get_user_model().objects.get(username="u-1010").groups.filter(name=SSO_ACCOUNTS_GROUP).exists()


def test_the_password_form_never_calls_the_identity_provider(client, sso) -> None:
    get_user_model().objects.create_user("local", password=DEFAULT_DEMO_PASSWORD, is_staff=True)

    response = client.post(
        "/admin/login/?code=forged-code&state=forged-state",
        {"username": "local", "password": "not-the-password", "next": "/admin/"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert sso.requests_received == 0
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None
    # and the right password still reaches the second factor, with the forged query string ignored
    right = client.post(
        "/admin/login/?code=forged-code&state=forged-state",
        {"username": "local", "password": DEFAULT_DEMO_PASSWORD, "next": "/admin/"},
    )
    assert right.status_code == 302
    assert awaiting_second_factor(client) == "local"
    assert sso.requests_received == 0


def test_an_sso_account_signs_a_record_with_a_code_from_its_second_factor(client, sso) -> None:
    through_sso(client, sso, person("u-1011", "grc-auditors"))
    signer = get_user_model().objects.get(username="u-1011")
    signer.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="governed_app", codename__in=["view_memo", "change_memo"])
    )
    memo = memo_create(actor=signer, title="Retention rule")
    login_verified(client, signer)
    url = reverse("admin:governed_app_memo_publish", args=[memo.pk])

    wrong = client.post(url, {"username": "u-1011", "password": "not-a-code"})
    signed = client.post(url, {"username": "u-1011", "password": authenticator_code(enrolled_authenticator(signer))})

    assert wrong.status_code == 403
    assert "username or code is not correct" in wrong.content.decode()
    assert signed.status_code == 302
    assert Signature.objects.get().signer == signer


def test_the_sso_pages_do_not_exist_while_sso_is_off(client, role_groups) -> None:
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404
    assert "Sign in with SSO" not in client.get("/admin/login/").content.decode()


def test_a_group_map_that_names_no_role_fails_loudly(settings) -> None:
    settings.OIDC_GROUP_MAP = json.dumps({"it-admins": "Administrator"})
    with pytest.raises(ImproperlyConfigured, match="not a role"):
        group_map()
    settings.OIDC_GROUP_MAP = "{not json"
    with pytest.raises(ImproperlyConfigured, match="not JSON"):
        group_map()


# --- Sign-in and roles -----------------------------------------------------------------------------------------
def test_the_login_page_offers_sso_beside_the_password_form(client, sso) -> None:
    page = client.get("/admin/login/", {"next": "/admin/lineage/"}).content.decode()

    assert "Sign in with SSO" in page
    assert "/oidc/authenticate/?next=%2Fadmin%2Flineage%2F" in page
    assert 'name="password"' in page


def test_a_person_gets_exactly_the_mapped_roles_and_loses_those_no_longer_in_the_claim(client, sso) -> None:
    response = through_sso(client, sso, person("u-2001", "grc-auditors", "data-office", "vpn-users"))

    assert response.status_code == 302
    assert response["Location"] == "/admin/second-factor/enrol/"  # the IdP stands in for the password only
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) == "u-2001"
    user = get_user_model().objects.get(username="u-2001")
    assert roles_of("u-2001") == {Role.AUDITOR.value, Role.DATA_STEWARD.value}
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (True, False, False)
    assert (user.email, user.get_full_name()) == ("u-2001@example.com", "Ana Lima")
    granted = LedgerEntry.objects.filter(action=LedgerAction.UPDATE, object_id=str(user.pk)).latest("sequence")
    assert granted.payload["roles_added"] == ["Auditor", "Data Steward"]

    enrolled_authenticator(user)
    assert client.post("/admin/second-factor/", {"code": second_factor_code(user)})["Location"] == "/admin/"
    assert signed_in_as(client) == "u-2001"
    assert client.get("/admin/").status_code == 200

    client.logout()
    response = through_sso(client, sso, person("u-2001", "data-office", "model-risk"))

    assert response["Location"] == "/admin/second-factor/"
    assert awaiting_second_factor(client) == "u-2001"
    assert roles_of("u-2001") == {Role.DATA_STEWARD.value, Role.RISK_OFFICER.value}
    changed = LedgerEntry.objects.filter(action=LedgerAction.UPDATE, object_id=str(user.pk)).latest("sequence")
    assert (changed.payload["roles_added"], changed.payload["roles_removed"]) == (["Risk Officer"], ["Auditor"])

    client.logout()
    response = through_sso(client, sso, person("u-2001", "vpn-users"))

    refused(response)
    assert signed_in_as(client) is None
    assert awaiting_second_factor(client) is None
    assert roles_of("u-2001") == set()  # the roles go even though the sign-in is refused


def test_sso_never_leaves_anyone_a_superuser(client, sso) -> None:
    through_sso(client, sso, person("u-3001", "model-risk"))
    get_user_model().objects.filter(username="u-3001").update(is_superuser=True)
    client.logout()

    through_sso(client, sso, person("u-3001", "model-risk"))

    assert get_user_model().objects.get(username="u-3001").is_superuser is False


def test_without_a_map_groups_named_like_a_role_are_that_role(client, sso, settings) -> None:
    settings.OIDC_GROUP_MAP = ""

    through_sso(client, sso, person("u-4001", "Compliance Reviewer", "grc-auditors"))

    assert roles_of("u-4001") == {Role.COMPLIANCE_REVIEWER.value}
