"""Scheduled inference housekeeping (see ``CELERY_BEAT_SCHEDULE``). Every task is idempotent."""

from celery import shared_task


@shared_task(name="inference.create_upcoming_partitions")
def create_upcoming_partitions() -> list[str]:
    """This month's and next month's record partitions for every use case (PostgreSQL); the names made."""
    from inference.partitions import inference_partitions_create_upcoming

    return inference_partitions_create_upcoming()


@shared_task(name="inference.purge_expired_records")
def purge_expired_records() -> list[dict[str, object]]:
    """Every use case's records of wholly expired months, each purge one ledger entry (``inference.retention``)."""
    from inference.retention import inference_records_purge_all

    return [
        {"use_case": purge.use_case.slug, "records": purge.records, "ledger_sequence": purge.ledger_sequence}
        for purge in inference_records_purge_all()
    ]
