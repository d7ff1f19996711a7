"""What waits for whom: the work queues shown on each person's landing page.

An app registers a queue once (in its ``AppConfig.ready``) with the roles it concerns and a function that
returns the items waiting for a given user, e.g. "dataset versions at the Legal stage assigned to me".
The landing page lists, for the signed-in user, every queue of every role they hold.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.contrib.auth.models import AbstractBaseUser

from accounts.choices import Role
from accounts.roles import ROLE_DUTIES


@dataclass(frozen=True)
class WorkItem:
    label: str
    url: str
    waiting_since: datetime | None = None


@dataclass(frozen=True)
class WorkQueue:
    key: str
    title: str
    roles: frozenset[Role]
    items: Callable[[AbstractBaseUser], Iterable[WorkItem]]
    #: Items shown on the landing page; the queue's own page lists the rest.
    limit: int = 10
    #: The URL name of the queue's own page, linked when the landing page shows ``limit`` items; "" if none.
    page_url_name: str = ""


@dataclass
class RoleDesk:
    """One role of the user, with its duties and the queues that role works."""

    role: Role
    duties: str
    queues: list[tuple[WorkQueue, list[WorkItem]]] = field(default_factory=list)


_registry: dict[str, WorkQueue] = {}


def register_queue(queue: WorkQueue) -> None:
    if queue.key in _registry and _registry[queue.key] != queue:
        raise ValueError(f"A different work queue is already registered as {queue.key!r}.")
    _registry[queue.key] = queue


def user_roles(user: AbstractBaseUser) -> list[Role]:
    """The portal roles the user holds, in the canonical order of ``Role``."""
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role for role in Role if role.value in names]


def desks_for(user: AbstractBaseUser) -> list[RoleDesk]:
    desks = []
    computed: dict[str, list[WorkItem]] = {}  # a queue shared by two of the user's roles is computed once
    for role in user_roles(user):
        desk = RoleDesk(role=role, duties=str(ROLE_DUTIES[role]))
        for queue in _registry.values():
            if role in queue.roles:
                if queue.key not in computed:
                    computed[queue.key] = list(islice(queue.items(user), queue.limit))
                desk.queues.append((queue, computed[queue.key]))
        desks.append(desk)
    return desks
