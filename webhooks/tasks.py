"""Delivering webhooks in Celery: acknowledged late, retried with exponential backoff, idempotent.

The attempt count lives in the delivery row, not in Celery's retry counter: a task carries the number of the
attempt it makes, so a duplicated or requeued message never posts an attempt twice (``webhooks.delivery``).
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from webhooks import syslog
from webhooks.choices import DeliveryStatus
from webhooks.delivery import webhook_delivery_attempt
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

#: How late a pending attempt must be before the sweep assumes its message was lost and sends it again.
OVERDUE_AFTER = timedelta(minutes=5)


@shared_task(
    name="webhooks.deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the delivery row counts attempts and stops at WEBHOOK_MAX_ATTEMPTS
)
def deliver_webhook(self, delivery_id: int, attempt: int = 1) -> object:
    outcome = webhook_delivery_attempt(delivery_id=delivery_id, attempt=attempt)
    if outcome.retry_in is not None:
        retry = {"args": [delivery_id, attempt + 1], "kwargs": {}, "countdown": outcome.retry_in}
        if self.request.is_eager:
            # No broker (a pilot, or the unit tests): a retry would run at once, in the request that made the
            # change, ignoring the countdown and spending every attempt in a moment. The delivery stays pending
            # with its ``next_attempt_at``; ``requeue_overdue`` (Celery beat) makes the next attempt.
            return {"delivery": delivery_id, "attempt": attempt, "status": outcome.status, "retry_in": outcome.retry_in}
        raise self.retry(**retry)
    return {"delivery": delivery_id, "attempt": attempt, "status": outcome.status}


@shared_task(name="webhooks.requeue_overdue", acks_late=True, reject_on_worker_lost=True)
def requeue_overdue_deliveries() -> int:
    """Celery beat: pending deliveries whose next attempt is well overdue (the broker was down at commit, or
    a retry message was lost) are sent again. Safe to run any number of times: attempts are numbered."""
    overdue = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lt=timezone.now() - OVERDUE_AFTER
    ).values_list("pk", "attempt_count")[:1000]
    for delivery_id, attempts_made in overdue:
        deliver_webhook.delay(delivery_id, attempts_made + 1)
    return len(overdue)


@shared_task(name="webhooks.forward_ledger_to_syslog", acks_late=True, reject_on_worker_lost=True)
def forward_ledger_to_syslog() -> int:
    """Celery beat (every ``SIEM_SYSLOG_INTERVAL_S``): the ledger entries the SIEM has not acknowledged, in order.
    A receiver that is down is logged as an error and tried again on the next beat, from the same entry."""
    if settings.SIEM_SYSLOG_ADDRESS is None:
        return 0
    try:
        return syslog.forward_all()
    except syslog.ForwardFailed as failure:
        logger.error("%s", failure)
        return 0
