"""Sign-in throttling (django-axes) as evidence: the client's address behind the proxy, failed sign-ins and
lockouts of existing accounts in the audit ledger (made-up usernames only in the log, so that nobody can
flood the ledger without an account), and lifting a lockout through a service.

Axes counts failures per username *and* address and refuses the username from that address once
``AXES_FAILURE_LIMIT`` is reached, until ``AXES_COOLOFF_TIME`` has passed or a Security Reviewer (or an
administrator) lifts the lockout. A wrong second-factor code counts as a failed sign-in too.
"""

import hashlib
import ipaddress
import logging

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from accounts.authz import roles_of
from accounts.choices import Role
from audit import ledger
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded

logger = logging.getLogger(__name__)

#: Longest username kept in a ledger entry: what someone typed is not trusted to be short.
MAX_RECORDED_USERNAME = 150


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address the sign-in came from (``AXES_CLIENT_IP_CALLABLE``).

    Behind ``TRUSTED_PROXY_COUNT`` proxies that each append the address they were connected from to
    ``X-Forwarded-For``, the client is the entry that many places from the right: whatever a client writes
    into the header itself stands to the left of it and is never believed. Without trusted proxies the header
    is ignored, since anyone can send it."""
    remote = _valid_address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return remote  # did not come through every proxy: only the connection's address is known
    return _valid_address(hops[-proxies]) or remote


def _user_named(username: str) -> AbstractBaseUser | None:
    return get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()


def username_digest(username: str) -> str:
    """A short, stable stand-in for a typed username in the log: enough to see one name tried again and again,
    without writing down what was typed (often a password typed into the wrong field)."""
    return hashlib.sha256(username.encode()).hexdigest()[:12]


def _log_unknown(event: str, username: str, ip_address: str | None) -> None:
    """Sign-ins with a username that names nobody are logged, not put in the ledger: anyone can make them up,
    and the ledger keeps everything for ever. Axes still counts them (and locks them out)."""
    logger.warning("%s for an unknown username (sha256 %s) from %s", event, username_digest(username), ip_address)


def record_failed_sign_in(sender: object, credentials: dict, request: HttpRequest | None = None, **kwargs: object):
    """``user_login_failed`` receiver: a failed sign-in of an existing account becomes a ledger entry (never the
    password: only the username, the address and which step failed). Runs after axes has counted the failure."""
    if request is None:
        return  # not a sign-in (e.g. a programmatic check); nothing to attribute
    ip_address = getattr(request, "axes_ip_address", None) or client_address(request)
    _record_for_account(
        LedgerAction.LOGIN_FAILED,
        "Failed sign-in",
        username=credentials.get("username"),
        ip_address=ip_address,
        step=credentials.get("step", "password"),
        locked_out=bool(getattr(request, "axes_locked_out", False)),
    )


def record_lockout(sender: object, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs):
    """``axes.signals.user_locked_out`` receiver: the failure that imposed a lockout on an existing account is
    recorded as a lockout. (Axes also signals every refused attempt during a lockout; those are recorded as
    failed sign-ins.)"""
    failures = getattr(request, "axes_failures_since_start", None)
    limit = get_failure_limit(request, {"username": username})
    if failures is not None and failures != limit:
        return
    _record_for_account(
        LedgerAction.LOCKOUT,
        "Sign-in lockout",
        username=username,
        ip_address=ip_address,
        failures=failures,
        cool_off_minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) if settings.AXES_COOLOFF_TIME else None,
    )


def _record_for_account(
    action: LedgerAction, event: str, *, username: str | None, ip_address: str | None, **details: object
) -> None:
    """A sign-in event of an existing account goes to the ledger, as the anonymous caller acting on that account;
    one for a username that names nobody is only logged (``_log_unknown``)."""
    username = str(username or "")[:MAX_RECORDED_USERNAME]
    user = _user_named(username) if username else None
    if user is None:
        _log_unknown(event, username, ip_address)
        return
    ledger.append(
        action=action,
        actor_name="anonymous",
        obj=user,
        payload={"username": username, "ip_address": ip_address, **details},
    )


def _lift_object(username: str) -> dict[str, object]:
    """The ledger's object for lifting a lockout: the account when it exists, else the name that was locked."""
    user = _user_named(username) if username else None
    if user is not None:
        return {"obj": user}
    return {"object_type": "auth.user", "object_label": username or "(no username)"}


def may_lift_lockouts(user: AbstractBaseUser) -> bool:
    """Security Reviewers and administrators lift lockouts (and reset a person's second factor)."""
    if not user.is_authenticated or not user.is_active:
        return False
    cached = getattr(user, "_may_lift_lockouts", None)  # the admin asks once per model on every page
    if cached is None:
        cached = user.is_superuser or Role.SECURITY_REVIEWER.value in roles_of(user)
        user._may_lift_lockouts = cached
    return cached


def lockout_lift(*, attempt: AccessAttempt, actor: AbstractBaseUser) -> None:
    """Forget the failures of one username from one address, so that it may sign in again."""
    with denials_recorded(), transaction.atomic():
        if not may_lift_lockouts(actor):
            raise ActionDenied(
                "Only a Security Reviewer or an administrator may lift a lockout.",
                actor=actor,
                attempted="lift lockout",
                obj=_user_named(attempt.username or ""),
            )
        failures = attempt.failures_since_start
        removed = AxesProxyHandler.reset_attempts(username=attempt.username, ip_address=attempt.ip_address)
        ledger.append(
            action=LedgerAction.UNLOCK,
            actor=actor,
            payload={
                "username": attempt.username,
                "ip_address": attempt.ip_address,
                "failures": failures,
                "attempts_removed": removed,
            },
            **_lift_object(attempt.username or ""),
        )
