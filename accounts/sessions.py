"""How long a signed-in session lives: 30 minutes idle, 12 hours from sign-in, not a moment once deactivated.

Django alone cannot say this. ``SESSION_COOKIE_AGE`` counts from the last save of the session, so any
activity extends it and there is no absolute limit; and a deactivated person's session rows linger until they
expire. So the session carries its sign-in time and last activity (``SessionLifetimeMiddleware`` enforces both
on every request), and ``UserSession`` indexes session keys by person so that deactivating someone deletes
their sessions at once, whichever way they were deactivated through the ORM. A deactivation that skips
``save()`` (a queryset update, raw SQL) is still caught on the session's next request.
"""

import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from accounts.models import UserSession

#: Session keys: when the person signed in, when they were last active (seconds since the epoch, UTC), and the
#: session key last written to the ``UserSession`` index (a key can change after sign-in, e.g. on a password
#: change).
AUTHENTICATED_AT = "_portal_authenticated_at"
SEEN_AT = "_portal_seen_at"
INDEXED_AS = "_portal_indexed_as"
#: Last activity is rewritten at most this often, so that reading pages does not write the session each time.
ACTIVITY_RESOLUTION_S = 60
#: Requests under this prefix are the API's: an ended session gets 401 JSON there, not a redirect to a page.
API_PREFIX = "/api/"


def _session_store() -> type:
    return import_module(settings.SESSION_ENGINE).SessionStore


def _index(request: HttpRequest, user: AbstractBaseUser) -> None:
    session = request.session
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(session_key=session.session_key, defaults={"user": user})
    session[INDEXED_AS] = session.session_key


def end_sessions(*, user: AbstractBaseUser) -> int:
    """Delete every session of ``user`` (whatever the session engine) and their index rows; returns how many."""
    store = _session_store()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store().delete(key)
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


def record_sign_in(sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any) -> None:
    """``user_logged_in``: stamp the session and index it; forget this person's sessions that no longer exist."""
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[AUTHENTICATED_AT] = now
    request.session[SEEN_AT] = now
    store = _session_store()
    gone = [
        key
        for key in UserSession.objects.filter(user=user).values_list("session_key", flat=True)
        if not store().exists(key)
    ]
    if gone:
        UserSession.objects.filter(session_key__in=gone).delete()
    _index(request, user)


def record_sign_out(sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any) -> None:
    """``user_logged_out``: the session is about to be flushed; drop its index row."""
    if request is not None and hasattr(request, "session") and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def end_sessions_of_deactivated(sender: Any, instance: AbstractBaseUser, **kwargs: Any) -> None:
    """``post_save`` of the user model: a person who is no longer active keeps no session."""
    if not instance.is_active:
        end_sessions(user=instance)


class SessionLifetimeMiddleware:
    """Ends a session that was idle too long, is older than the absolute limit, or whose person was deactivated.

    The person is signed out; a page request is sent to the sign-in page with a message saying why, an API
    request (session-authenticated) gets 401. Goes after the authentication and message middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reason = self._reason_to_end(request)
        if reason:
            logout(request)
            return self._ended(request, reason)
        return self.get_response(request)

    def _reason_to_end(self, request: HttpRequest) -> str:
        user = request.user
        signed_in = user.is_authenticated  # resolves the user; Django itself flushes a session it rejects
        session = request.session
        if SESSION_KEY not in session:
            return ""
        if not signed_in or not user.is_active:
            return _("Your session has ended: your account is no longer active.")
        now = time.time()
        authenticated_at = session.get(AUTHENTICATED_AT)
        seen_at = session.get(SEEN_AT)
        if authenticated_at is None or seen_at is None:
            # A session from before these limits existed: its clocks start now.
            session[AUTHENTICATED_AT] = session[SEEN_AT] = now
        elif now - authenticated_at > settings.SESSION_ABSOLUTE_TIMEOUT_S:
            return _("Your session has ended: you signed in more than %(hours)s hours ago. Please sign in again.") % {
                "hours": f"{settings.SESSION_ABSOLUTE_TIMEOUT_S / 3600:g}"
            }
        elif now - seen_at > settings.SESSION_IDLE_TIMEOUT_S:
            return _("Your session has ended after %(minutes)s minutes without activity. Please sign in again.") % {
                "minutes": f"{settings.SESSION_IDLE_TIMEOUT_S / 60:g}"
            }
        elif now - seen_at >= ACTIVITY_RESOLUTION_S:
            session[SEEN_AT] = now
        if session.get(INDEXED_AS) != session.session_key:
            _index(request, user)
        return ""

    def _ended(self, request: HttpRequest, reason: str) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse({"detail": reason}, status=401)
        messages.warning(request, reason)
        return redirect_to_login(request.get_full_path())
