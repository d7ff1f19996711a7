"""Scheduled identity and access housekeeping (see ``CELERY_BEAT_SCHEDULE``); idempotent."""

from celery import shared_task

from accounts.notifications import deliver
from accounts.services.access_reviews import access_reviews_open_due


@shared_task(name="accounts.tasks.open_due_access_reviews")
def open_due_access_reviews() -> list[str]:
    """Open this period's access review of every role that has none yet; returns the roles opened."""
    return [review.role for review in access_reviews_open_due()]


@shared_task(
    name="accounts.tasks.send_notification",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification(*, recipient_id: int, kind: str, key: str, subject: str, body: str) -> bool:
    """One e-mail notification (see ``accounts.notifications``); idempotent, retried while the mail server is
    unreachable."""
    return deliver(recipient_id=recipient_id, kind=kind, key=key, subject=subject, body=body)
