"""Scheduled identity and access housekeeping (see ``CELERY_BEAT_SCHEDULE``); idempotent."""

from celery import shared_task

from accounts.services.access_reviews import access_reviews_open_due


@shared_task(name="accounts.tasks.open_due_access_reviews")
def open_due_access_reviews() -> list[str]:
    """Open this period's access review of every role that has none yet; returns the roles opened."""
    return [review.role for review in access_reviews_open_due()]
