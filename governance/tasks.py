"""Scheduled governance work (see ``CELERY_BEAT_SCHEDULE``): idempotent."""

from celery import shared_task


@shared_task(name="governance.tasks.flag_due_retraining")
def flag_due_retraining() -> list[str]:
    """Flag use cases whose scheduled retraining has come due (shown on risk officers' landing pages)."""
    from governance.services.retraining import retraining_flag_due

    return [cadence.use_case.slug for cadence in retraining_flag_due()]


@shared_task(name="governance.tasks.remind_overdue_work", acks_late=True, reject_on_worker_lost=True)
def remind_overdue_work() -> int:
    """E-mail each person the overdue items on their landing page (once per item per day, whatever the schedule)."""
    from governance.reminders import overdue_reminders_queue

    return overdue_reminders_queue()
