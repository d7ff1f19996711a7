"""Pipeline tokens: creating, finding and revoking them (services), for the API and its management command.

A token is ``pt_<prefix>_<secret>``; only the SHA-256 of the whole token is stored, so a leaked database does
not leak usable tokens. The service account it acts as is a Django user named ``svc-<name>``, active, without a
usable password or the staff flag (it cannot sign in to the admin), and in the ML Engineer role only: the
services accept its registrations and requests, and every approval service refuses it, as it refuses any
engineer.
"""

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.choices import SERVICE_ACCOUNT_PREFIX, Role, RoleGrantBasis
from accounts.models import PipelineToken, PipelineTokenScope, validate_rate
from accounts.models.tokens import SCOPES_BEYOND_USE_CASES
from accounts.services.role_grants import role_grant_record
from audit import ledger
from audit.audit_context import acting_as, describe_actor
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded

TOKEN_PREFIX = "pt_"  # noqa: S105 - a marker, not a secret
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 730
#: The one role a service account holds: it registers and requests, it never approves.
SERVICE_ACCOUNT_ROLE = Role.ML_ENGINEER


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret, which exists only here: show it once."""

    token: PipelineToken
    secret: str


def service_account_for(name: str) -> AbstractBaseUser:
    """The service account ``svc-<name>``, created on first use with the ML Engineer role only."""
    slug = slugify(name.removeprefix(SERVICE_ACCOUNT_PREFIX))
    if not slug:
        raise ValidationError({"service_account": "Name the service account (letters, digits and dashes)."})
    username = f"{SERVICE_ACCOUNT_PREFIX}{slug}"[:150]
    user_model = get_user_model()
    account = user_model.objects.filter(username=username).first()
    if account is None:
        account = user_model(username=username, is_active=True, is_staff=False, is_superuser=False)
        account.set_unusable_password()
        account.save()
    elif account.is_staff or account.is_superuser or account.has_usable_password():
        raise ValidationError(
            {"service_account": f"{username} is a person's login, not a service account; choose another name."}
        )
    if not Group.objects.filter(name=SERVICE_ACCOUNT_ROLE.value).exists():
        raise ValidationError({"service_account": "The role groups are missing; run the migrations."})
    role_grant_record(
        user=account,
        role=SERVICE_ACCOUNT_ROLE,
        basis=RoleGrantBasis.SERVICE_ACCOUNT,
        reason="A pipeline's service account, given its role with its token.",
    )
    return account


def _clean_scopes(scopes: Iterable[str] | None) -> list[str]:
    if scopes is None:
        scopes = [scope for scope in PipelineTokenScope.values if scope not in SCOPES_BEYOND_USE_CASES]
    scopes = list(scopes)
    unknown = sorted(set(scopes) - set(PipelineTokenScope.values))
    if unknown:
        raise ValidationError(
            {"scopes": f"Unknown scopes: {', '.join(unknown)}. Choose from {', '.join(PipelineTokenScope.values)}."}
        )
    if not scopes:
        raise ValidationError({"scopes": "Give the token at least one scope."})
    return sorted(set(scopes))


def pipeline_token_create(
    *,
    service_account_name: str,
    name: str,
    use_cases: Iterable[models.Model],
    scopes: Iterable[str] | None = None,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    rate_limit: str = "",
    actor: AbstractBaseUser | None = None,
    actor_name: str = "",
) -> IssuedToken:
    """Issue a token for the service account, limited to ``use_cases`` and ``scopes`` (if None, every scope that
    stays within its use cases: ``ledger:read`` is given only when named), and to ``rate_limit`` requests (e.g.
    ``600/min``; empty: the portal's ``API_TOKEN_RATE``).

    ``actor`` is the administrator issuing it (the admin) or None with ``actor_name`` (the management command,
    run by whoever operates the server).
    """
    use_cases = list(use_cases)
    scopes = _clean_scopes(scopes)
    errors = {}
    if not use_cases:
        errors["use_cases"] = "Limit the token to at least one use case."
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors["expires_in_days"] = f"A token expires after 1 to {MAX_EXPIRY_DAYS} days."
    if not name.strip():
        errors["name"] = "Say what the token is for."
    try:
        validate_rate(rate_limit.strip())
    except ValidationError as error:
        errors["rate_limit"] = error.messages
    if errors:
        raise ValidationError(errors)
    with denials_recorded(), transaction.atomic(), acting_as(actor, actor_name=actor_name):
        if actor is not None and not actor.has_perm("accounts.add_pipelinetoken"):
            raise ActionDenied(
                "Your account may not issue pipeline tokens.", actor=actor, attempted="pipeline_token_create"
            )
        account = service_account_for(service_account_name)
        prefix = secrets.token_hex(4)
        secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        now = timezone.now()
        token = PipelineToken(
            name=name.strip()[:100],
            service_account=account,
            scopes=scopes,
            prefix=prefix,
            token_hash=token_digest(secret),
            created_at=now,
            created_by=describe_actor(actor, actor_name)[:200],
            expires_at=now + datetime.timedelta(days=expires_in_days),
            rate_limit=rate_limit.strip(),
        )
        token.full_clean()
        token.save()
        token.use_cases.set(use_cases)
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=token,
            payload={
                "issued_to": account.get_username(),
                "use_cases": sorted(use_case.slug for use_case in use_cases),
                "scopes": scopes,
                "expires_at": token.expires_at,
                # The token's own rate, or "default": the portal's API_TOKEN_RATE, which can change after issue.
                "rate_limit": token.rate_limit or "default",
            },
        )
        return IssuedToken(token=token, secret=secret)


def pipeline_token_revoke(
    *, token: PipelineToken, actor: AbstractBaseUser | None, reason: str, actor_name: str = ""
) -> PipelineToken:
    """The token stops working at once; it stays on record."""
    attempted = "pipeline_token_revoke"
    if not reason.strip():
        raise ValidationError({"revocation_reason": "Say why the token is revoked."})
    with denials_recorded(), transaction.atomic(), acting_as(actor, actor_name=actor_name):
        locked = PipelineToken.objects.select_for_update().get(pk=token.pk)
        if actor is not None and not actor.has_perm("accounts.change_pipelinetoken"):
            raise ActionDenied("Your account may not revoke pipeline tokens.", actor=actor, attempted=attempted)
        if locked.revoked_at is not None:
            raise ActionDenied(f"{locked} is already revoked.", actor=actor, attempted=attempted, obj=locked)
        locked.revoked_at = timezone.now()
        locked.revoked_by = describe_actor(actor, actor_name)[:200]
        locked.revocation_reason = reason.strip()[:500]
        locked.save()
        return locked


def token_from_secret(secret: str) -> PipelineToken | None:
    """The usable token (not revoked, not expired, its account active) with this secret, or None.

    Its use-case ids are loaded with it, so a request checks its scope without another query.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        PipelineToken.objects.select_related("service_account")
        .filter(token_hash=token_digest(secret), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.service_account.is_active:
        return None
    token.use_case_ids = frozenset(token.use_cases.values_list("pk", flat=True))
    return token
