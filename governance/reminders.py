"""Overdue work reminders: each person is e-mailed about every overdue item waiting for them, once a day.

It reads the same queues as the landing page (``governance.worklist``), so a reminder names exactly what the
person sees marked overdue there, whichever app registered the queue. The day is part of each e-mail's key, so
running it every hour (or twice, or on two beat schedulers) sends one reminder per item per day.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.choices import NotificationKind, Role
from accounts.notifications import notify
from governance.worklist import desks_for


def overdue_reminders_queue() -> int:
    """Queue today's reminders; returns how many (person, item) pairs were found overdue."""
    today = timezone.now().date().isoformat()
    people = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=Role.values)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    found = 0
    for person in people:
        seen: set[str] = set()
        with transaction.atomic():  # the e-mails of one person are queued when their transaction commits
            for desk in desks_for(person):
                for queue, items in desk.queues:
                    for item in items:
                        if not item.overdue or item.url in seen:
                            continue
                        seen.add(item.url)
                        found += 1
                        notify(
                            kind=NotificationKind.REVIEW_OVERDUE,
                            recipients=[person],
                            key=f"overdue:{item.url}:{today}",
                            subject=f"Overdue: {item.label}"[:200],
                            body=f"{item.label} ({queue.title}) is {item.overdue_label}, due {item.due_at:%Y-%m-%d}.",
                            path=item.url,
                        )
    return found
