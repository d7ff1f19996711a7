"""Single sign-on with OpenID Connect (mozilla-django-oidc), beside the local accounts kept for break-glass use.

At every sign-in the identity provider's groups claim decides the person's roles: the role groups named by the
claim (through ``OIDC_GROUP_MAP``) are added, role groups no longer named are taken away, and a person none of
whose groups maps to a role is refused. SSO never makes anyone a superuser; it marks people staff, because the
portal is the admin. The username is the ``OIDC_USERNAME_CLAIM`` claim (``sub`` by default, which an IdP never
reassigns). SSO signs in only the accounts it created itself, which it marks by membership of the
``SSO_ACCOUNTS_GROUP`` group and leaves without a usable password: a local account (a break-glass administrator
with a password), a pipeline's service account (``svc-*``) or any other account the IdP happens to name is
refused and the refusal recorded, so an IdP that sends such a username cannot take that account over. An SSO
account signs with a code from its second factor (see ``accounts.services.signatures``).

The backend answers only the SSO callback: Django's ``authenticate()`` tries every backend, the password form's
included, and the library's backend would otherwise read ``code``/``state`` from any request's query string and
call the IdP's token endpoint from the password form.

Signing in through the IdP replaces the password step only: the portal's second factor (TOTP) follows as after
a password. The ID token is checked more strictly than the library does by default: signature, algorithm,
issuer, audience (our client id) and expiry. Refusals are recorded in the ledger as failed sign-ins; role changes
as updates of the person.
"""

import json
import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.admin.second_factor import begin_second_factor
from accounts.choices import HOLDING_STATES, SERVICE_ACCOUNT_PREFIX, Role, RoleGrantBasis
from accounts.models import RoleGrant
from accounts.services.role_grants import role_grant_end, role_grant_record
from accounts.services.second_factor import authenticator_of
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction

#: Seconds of clock difference tolerated between the IdP and the portal when checking ``exp``/``iat``.
CLOCK_LEEWAY_S = 30
#: The group that marks the accounts SSO created, the only ones it signs in. Not a role: it grants nothing.
SSO_ACCOUNTS_GROUP = "Single sign-on accounts"
#: What only the SSO callback view passes to ``authenticate()`` (mozilla_django_oidc.views).
_CALLBACK_KWARGS = frozenset({"nonce", "code_verifier"})
_ROLE_NAMES = {role.value for role in Role}
logger = logging.getLogger(__name__)


def group_map() -> dict[str, frozenset[str]]:
    """``OIDC_GROUP_MAP`` (IdP group -> role name or list of role names), checked; unset or empty means every
    group named exactly like a role maps to that role."""
    raw = getattr(settings, "OIDC_GROUP_MAP", "") or ""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as error:
            raise ImproperlyConfigured(f"OIDC_GROUP_MAP is not JSON: {error}.") from None
    if not isinstance(raw, dict):
        raise ImproperlyConfigured('OIDC_GROUP_MAP must be a JSON object, e.g. {"idp-auditors": "Auditor"}.')
    if not raw:
        return {name: frozenset({name}) for name in _ROLE_NAMES}
    mapping: dict[str, frozenset[str]] = {}
    for group, roles in raw.items():
        names = frozenset([roles] if isinstance(roles, str) else roles)
        unknown = names - _ROLE_NAMES
        if unknown or not names:
            raise ImproperlyConfigured(
                f"OIDC_GROUP_MAP maps {group!r} to {', '.join(sorted(unknown)) or 'nothing'}, which is not a role; "
                f"roles are: {', '.join(sorted(_ROLE_NAMES))}."
            )
        mapping[str(group)] = names
    return mapping


def roles_from_claims(claims: dict[str, Any], mapping: dict[str, frozenset[str]]) -> set[str]:
    groups = claims.get(getattr(settings, "OIDC_GROUPS_CLAIM", "groups"), [])
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return set()
    return set().union(*(mapping.get(str(group), frozenset()) for group in groups))


class SignInRefused(SuspiciousOperation):
    """An SSO sign-in the portal refuses (recorded; the login page says why)."""


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with the portal's rules for who may sign in and with which roles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every sign-in, the password form's included: nothing here may fail on
        # SSO configuration, or a broken group map would lock the break-glass accounts out too.
        super().__init__(*args, **kwargs)
        self.username_claim = getattr(settings, "OIDC_USERNAME_CLAIM", "sub") or "sub"

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> AbstractBaseUser | None:
        """Only for the SSO callback, which passes ``nonce`` and ``code_verifier``: any other caller (the password
        form, an API's credentials check) is not answered, whatever its query string says."""
        if "password" in kwargs or not _CALLBACK_KWARGS.issubset(kwargs):
            return None
        return super().authenticate(request, **kwargs)

    # --- Tokens -------------------------------------------------------------------------------------------
    def _verify_jws(self, payload: str | bytes, key: Any) -> dict[str, Any]:
        """Signature with exactly the configured algorithm, and issuer, audience and expiry: the library
        leaves the audience unchecked."""
        try:
            header = jwt.get_unverified_header(payload)
            if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
                raise SuspiciousOperation(f"The token is signed with {header.get('alg')!r}, not the configured alg.")
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=CLOCK_LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise SuspiciousOperation(f"ID token refused: {error}.") from None

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims with the userinfo endpoint's on top (groups may come from either); the two must
        speak of the same subject."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo endpoint answered for another subject than the ID token.")
        return {**payload, **userinfo}

    # --- People -------------------------------------------------------------------------------------------
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        value = claims.get(self.username_claim)
        return isinstance(value, str) and 0 < len(value) <= 150

    def get_username(self, claims: dict[str, Any]) -> str:
        return claims[self.username_claim]

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(username=self.get_username(claims))

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> AbstractBaseUser:
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            self._refuse(claims, None, f"the identity provider sent no usable {self.username_claim!r} claim")
        roles = roles_from_claims(claims, group_map())
        with transaction.atomic():
            user = self.filter_users_by_claims(claims).select_for_update().first()
            if user is not None and user.has_usable_password():
                refusal = "a local account has this username; local accounts sign in with their password"
            elif user is not None and user.get_username().startswith(SERVICE_ACCOUNT_PREFIX):
                refusal = "a service account has this username; service accounts never sign in"
            elif user is not None and not is_sso_account(user):
                refusal = "an account single sign-on did not create has this username"
            elif user is not None and not user.is_active:
                refusal = "the account is deactivated"
            else:
                refusal = "" if roles else "none of the person's groups maps to a portal role"
                if user is None and roles and self.get_username(claims).startswith(SERVICE_ACCOUNT_PREFIX):
                    # never create a look-alike of a pipeline's service account either
                    refusal = "service account names are reserved"
                elif user is None and roles:
                    user = self.create_user(claims)
                if user is not None:
                    self.update_user(user, claims)
                    self._set_roles(user, roles)
        if refusal:
            self._refuse(claims, user, refusal)
        return user

    def create_user(self, claims: dict[str, Any]) -> AbstractBaseUser:
        user = self.UserModel.objects.create_user(self.get_username(claims), email=claims.get("email", ""))
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=SSO_ACCOUNTS_GROUP)[0])
        return user

    def update_user(self, user: AbstractBaseUser, claims: dict[str, Any]) -> AbstractBaseUser:
        """Name and e-mail follow the IdP; staff (the portal is the admin), never superuser."""
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.email = str(claims.get("email", ""))[:254]
        user.is_staff = True
        user.is_superuser = False
        user.save(update_fields=["first_name", "last_name", "email", "is_staff", "is_superuser"])
        return user

    def _set_roles(self, user: AbstractBaseUser, roles: set[str]) -> None:
        """Role groups exactly as the claim says; groups that are not roles are left as an administrator set them."""
        granted = set(RoleGrant.objects.filter(user=user, state__in=HOLDING_STATES).values_list("role", flat=True))
        held = granted | set(user.groups.filter(name__in=_ROLE_NAMES).values_list("name", flat=True))
        added, removed = sorted(roles - granted), sorted(held - roles)
        if not added and not removed:
            return
        # The identity provider is the authority for these roles: its assignments are recorded as role grants
        # (basis "identity provider"), without a second person in the portal.
        with acting_as(actor_name="system:sso"):
            user.groups.remove(*Group.objects.filter(name__in=removed))  # a membership without a grant, too
            role_grant_end(user=user, roles=removed, reason="No longer assigned by the identity provider.")
            for role in added:
                role_grant_record(
                    user=user,
                    role=role,
                    basis=RoleGrantBasis.IDENTITY_PROVIDER,
                    reason="Assigned by the identity provider.",
                )
        user._explicit_permission_cache = None  # accounts.authz caches a person's permissions on the object
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=user,
            actor_name="system:sso",
            payload={"source": "sso", "roles": sorted(roles), "roles_added": added, "roles_removed": removed},
        )

    def _refuse(self, claims: dict[str, Any], user: AbstractBaseUser | None, reason: str) -> None:
        name = str(claims.get(self.username_claim, ""))[:150]
        with transaction.atomic():
            ledger.append(
                action=LedgerAction.LOGIN_FAILED,
                object_type="auth.user",
                object_id=str(user.pk) if user is not None else "",
                object_label=name,
                actor_name=f"sso:{name}" if name else "sso:unknown",
                payload={"method": "sso", "reason": reason},
            )
        if self.request is not None:
            self.request.sso_refusal = reason
        raise SignInRefused(f"SSO sign-in refused for {name!r}: {reason}")


def is_sso_account(user: AbstractBaseUser) -> bool:
    """Whether single sign-on created this account (and so may sign it in)."""
    return user.groups.filter(name=SSO_ACCOUNTS_GROUP).exists()


def _enabled() -> None:
    if not getattr(settings, "OIDC_ENABLED", False):
        raise Http404("Single sign-on is not configured.")


class SSOStartView(OIDCAuthenticationRequestView):
    """Sends the person to the identity provider (authorization code flow with PKCE, state and nonce)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled()
        return super().get(request)


class SSOCallbackView(OIDCAuthenticationCallbackView):
    """Where the identity provider sends the person back: signed in and on to the page they asked for, or back
    to the login page with the reason."""

    @property
    def failure_url(self) -> str:
        return reverse("admin:login")

    @property
    def success_url(self) -> str:
        return self.request.session.get("oidc_login_next") or reverse("admin:index")

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled()
        try:
            return super().get(request)
        except SuspiciousOperation as error:  # a replayed state, a forged or expired token
            logger.warning("SSO callback refused: %s", error)
            request.sso_refusal = "the identity provider's answer could not be verified"
        except requests.RequestException as error:
            logger.warning("SSO callback could not reach the identity provider: %s", error)
            request.sso_refusal = "the identity provider could not be reached; try again, or sign in with a password"
        return self.login_failure()

    def login_success(self) -> HttpResponseRedirect:
        """The identity provider stands in for the password: the portal's own second factor still follows, exactly
        as after the password form, and only then is the person signed in."""
        begin_second_factor(self.request, self.user, self.success_url)
        step = "admin:second_factor" if authenticator_of(self.user) else "admin:second_factor_enrol"
        return HttpResponseRedirect(reverse(step))

    def login_failure(self) -> HttpResponseRedirect:
        reason = getattr(self.request, "sso_refusal", "") or "the identity provider's answer could not be verified"
        messages.error(self.request, f"Single sign-on did not sign you in: {reason}.")
        return super().login_failure()


def sso_enabled() -> bool:
    return bool(getattr(settings, "OIDC_ENABLED", False))
