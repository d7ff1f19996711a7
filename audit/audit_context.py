"""Who is acting, and in which request: the context every ledger entry is stamped with.

The request middleware sets the request id and the signed-in user; services narrow it with
``acting_as(actor)`` so that entries written by signal handlers (history rows, FSM transitions) name the
person on whose behalf the service runs, not whoever happens to be signed in.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse

SYSTEM_ACTOR_NAME = "system"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


@dataclass(frozen=True)
class AuditContext:
    actor: AbstractBaseUser | None = None
    #: For actors that are not people (``service:training-pipeline``, ``system:checkpoint``).
    actor_name: str = ""
    request_id: str = ""


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())  # noqa: B039


def current() -> AuditContext:
    return _current.get()


@contextmanager
def acting_as(actor: AbstractBaseUser | None = None, *, actor_name: str = "") -> Iterator[AuditContext]:
    """Run a block on behalf of ``actor`` (a user) or a named non-human actor."""
    context = replace(current(), actor=actor, actor_name=actor_name)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def describe_actor(actor: AbstractBaseUser | None, actor_name: str = "") -> str:
    """The actor as stored in text beside the foreign key: it stays readable if the account is renamed."""
    if actor is not None and actor.is_authenticated:
        full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
        return f"{actor.get_username()} ({full_name})" if full_name else actor.get_username()
    return actor_name or SYSTEM_ACTOR_NAME


class AuditContextMiddleware:
    """Gives each request an id (the caller's ``X-Request-ID`` when well-formed) and its user as actor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
        token = _current.set(AuditContext(actor=actor, request_id=request_id))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response
