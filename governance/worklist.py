"""What waits for whom: the work queues shown on each person's landing page.

An app registers a queue once (in its ``AppConfig.ready``) with the roles it concerns and a function that
returns the items waiting for a given user, e.g. "dataset versions at the Legal stage assigned to me".
The landing page lists, for the signed-in user, every queue of every role they hold.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from accounts.choices import Role
from accounts.roles import ROLE_DUTIES

#: The tier of work whose queue gives it none.
DEFAULT_RISK_TIER = "medium"
#: The organisation's internal model-risk tiers (``InternalRiskTier``) as review urgency.
INTERNAL_TIER_URGENCY = {"tier_1": "critical", "tier_2": "high", "tier_3": "medium", "tier_4": "low"}
#: How many items of a queue are looked at to find the overdue ones, which are shown first: a queue yields its
#: items oldest first, so any overdue item is among its oldest unless tiers differ widely.
OVERDUE_LOOKAHEAD = 10


def due_days(risk_tier: str) -> int:
    """Days work of this risk tier may wait (``REVIEW_DUE_DAYS_BY_RISK_TIER``; an unknown tier counts as medium)."""
    days = settings.REVIEW_DUE_DAYS_BY_RISK_TIER
    return days.get(risk_tier) or days[DEFAULT_RISK_TIER]


@dataclass(frozen=True)
class WorkItem:
    """One thing waiting for someone. ``waiting_since`` is when it reached the stage that waits for them (the
    due date counts from there) and ``risk_tier`` how urgent its kind is (a key of
    ``REVIEW_DUE_DAYS_BY_RISK_TIER``); an empty tier means it is not a review and has no due date (an open
    incident, a retraining that is due)."""

    label: str
    url: str
    waiting_since: datetime | None = None
    risk_tier: str = DEFAULT_RISK_TIER

    @property
    def due_at(self) -> datetime | None:
        if self.waiting_since is None or not self.risk_tier:
            return None
        return self.waiting_since + timedelta(days=due_days(self.risk_tier))

    def overdue_days(self, now: datetime | None = None) -> int | None:
        """Whole days past the due date (0 on the day it fell due), or None if not overdue."""
        due = self.due_at
        now = now or timezone.now()
        if due is None or now < due:
            return None
        return (now - due).days

    @property
    def overdue(self) -> bool:
        return self.overdue_days() is not None

    @property
    def overdue_label(self) -> str:
        """ "overdue by 2 days", as the landing page shows it; empty if not overdue."""
        days = self.overdue_days()
        if days is None:
            return ""
        if days == 0:
            return "overdue since today"
        return f"overdue by {days} day{'s' if days != 1 else ''}"


def overdue_first(items: Iterable[WorkItem], limit: int) -> list[WorkItem]:
    """The first ``limit`` items with the overdue ones (most overdue first) moved to the front, from the first
    ``limit * OVERDUE_LOOKAHEAD`` items of the queue; otherwise the queue's own order."""
    candidates = list(islice(items, limit * OVERDUE_LOOKAHEAD))
    now = timezone.now()
    ranked = sorted(
        enumerate(candidates),
        key=lambda pair: (pair[1].overdue_days(now) is None, -(pair[1].overdue_days(now) or 0), pair[0]),
    )
    return [item for _position, item in ranked[:limit]]


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
                    computed[queue.key] = overdue_first(queue.items(user), queue.limit)
                desk.queues.append((queue, computed[queue.key]))
        desks.append(desk)
    return desks
