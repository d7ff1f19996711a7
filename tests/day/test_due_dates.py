"""Review due dates by risk tier: overdue work is marked on the landing page, shown first, and e-mailed to whoever
it waits for once a day."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from governance.tasks import remind_overdue_work
from governance.worklist import WorkItem, desks_for, overdue_first
from tests.signing_in import login_verified
from tests.test_settings import run_manage

SINCE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def item(label: str, *, days_ago: float, tier: str = "medium", now: datetime = SINCE) -> WorkItem:
    return WorkItem(label=label, url=f"/{label}/", waiting_since=now - timedelta(days=days_ago), risk_tier=tier)


@pytest.mark.parametrize(
    ("tier", "waited", "expected"),
    [
        ("high", 2.5, ""),
        ("high", 3.5, "overdue since today"),
        ("high", 5.1, "overdue by 2 days"),
        ("low", 5.1, ""),
        ("critical", 3.2, "overdue by 1 day"),
        ("unknown-tier", 5.5, "overdue since today"),  # counts as medium
        ("", 400, ""),  # not a review: no due date
    ],
)
def test_the_due_date_follows_the_risk_tier(settings, tier: str, waited: float, expected: str) -> None:
    settings.REVIEW_DUE_DAYS_BY_RISK_TIER = {"critical": 2, "high": 3, "medium": 5, "low": 10}
    with freeze_time(SINCE):
        assert item("x", days_ago=waited, tier=tier).overdue_label == expected


def test_overdue_items_come_first_most_overdue_first_then_the_queues_order() -> None:
    with freeze_time(SINCE):
        queue = [
            item("fresh", days_ago=1),
            item("late", days_ago=6),
            item("later", days_ago=9),
            item("waiting", days_ago=2),
            item("undated", days_ago=0, tier=""),
        ]
        assert [shown.label for shown in overdue_first(iter(queue), limit=4)] == ["later", "late", "fresh", "waiting"]


@pytest.mark.django_db
def test_the_landing_page_marks_overdue_reviews_with_how_late_they_are(client: Client, submitted, reviewer) -> None:
    [waiting] = [i for desk in desks_for(reviewer) for _queue, items in desk.queues for i in items]
    assert waiting.due_at is not None
    assert not waiting.overdue
    login_verified(client, reviewer)

    on_time = client.get(reverse("admin:index")).content.decode()
    with freeze_time(waiting.due_at + timedelta(days=2, hours=1)):
        login_verified(client, reviewer)  # the earlier session has long timed out
        late = client.get(reverse("admin:index")).content.decode()

    assert f"due {waiting.due_at:%Y-%m-%d}" in on_time
    assert "portal-overdue" not in on_time
    assert 'class="portal-overdue"' in late
    assert "overdue by 2 days" in late


@pytest.mark.django_db
def test_overdue_reviews_are_emailed_once_a_day(
    settings, submitted, reviewer, django_capture_on_commit_callbacks
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    [waiting] = [i for desk in desks_for(reviewer) for _queue, items in desk.queues for i in items]

    with freeze_time(waiting.due_at + timedelta(hours=2)):
        for _hourly_run in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                remind_overdue_work.delay()
    with freeze_time(waiting.due_at + timedelta(days=1, hours=2)), django_capture_on_commit_callbacks(execute=True):
        remind_overdue_work.delay()

    assert [message.to for message in mail.outbox] == [["lena@example.com"], ["lena@example.com"]]
    assert "Overdue: " in mail.outbox[0].subject
    assert "overdue since today" in mail.outbox[0].body
    assert "overdue by 1 day" in mail.outbox[1].body


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("{high: 3}", "REVIEW_DUE_DAYS_BY_RISK_TIER is not a JSON object"),
        ('{"high": 0}', "whole numbers of days of at least 1"),
        ('{"high": "3"}', "whole numbers of days of at least 1"),
    ],
)
def test_a_due_date_setting_that_cannot_hold_stops_the_portal(value: str, refusal: str) -> None:
    result = run_manage("check", DEBUG="true", REVIEW_DUE_DAYS_BY_RISK_TIER=value)

    assert result.returncode != 0
    assert refusal in result.stderr
