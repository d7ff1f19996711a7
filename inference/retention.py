"""Retention of inference records: whole expired months are purged, and the purge is itself one ledger entry.

How long records are kept is a setting, ``INFERENCE_RETENTION_DAYS``, with a per-use-case override in
``INFERENCE_RETENTION_DAYS_BY_USE_CASE``, not a field of the use case: it is a storage obligation the organisation's
records policy sets for its deployment (and the database's size depends on it), not a product decision a use case's
owner approves. Each purge writes the retention it applied into its ledger entry, so the ledger still shows which
period was kept when.

Records go in whole months (UTC), the unit of the record table's partitions on PostgreSQL: a month is expired when
all of it is older than the retention, and then its partition is dropped (SQLite: its rows are deleted). A batch
whose records straddle the boundary is retired whole, its younger records deleted with it, so every batch that
remains still has all its records and still proves into the root its ledger entry sealed. The ledger entry names
the use case, the period, the records removed, and each retired batch's ledger entry, root and count.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from governance.models import UseCase
from inference.models import InferenceBatch, InferenceRecord
from inference.partitions import existing_partitions, month_start, next_month, partitioned

#: The actor purges are recorded as.
RETENTION_ACTOR = "system:inference-retention"


def retention_days(use_case: UseCase) -> int:
    return int(settings.INFERENCE_RETENTION_DAYS_BY_USE_CASE.get(use_case.slug, settings.INFERENCE_RETENTION_DAYS))


def purge_boundary(use_case: UseCase, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """Records of ``use_case`` that started before this moment are expired: the first day (UTC) of the month in
    which the retention period begins."""
    start = (now or timezone.now()) - datetime.timedelta(days=retention_days(use_case))
    month = month_start(start.astimezone(datetime.UTC))
    return datetime.datetime(month.year, month.month, 1, tzinfo=datetime.UTC)


@dataclass
class InferencePurge:
    """What one purge of one use case removed."""

    use_case: UseCase
    before: datetime.datetime
    records: int
    partitions: list[str] = field(default_factory=list)
    batches: list[list[object]] = field(default_factory=list)  # [ledger sequence, Merkle root, records]
    ledger_sequence: int = 0


def inference_records_purge(*, use_case: UseCase, now: datetime.datetime | None = None) -> InferencePurge | None:
    """Remove ``use_case``'s records of every wholly expired month and the batches they belonged to, and append one
    ledger entry saying so; None when nothing was expired. Idempotent: a second run finds nothing."""
    before = purge_boundary(use_case, now=now)
    with transaction.atomic(), acting_as(None, actor_name=RETENTION_ACTOR):
        # One purge of a use case at a time.
        use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
        expired = InferenceRecord.objects.filter(use_case=use_case, started_at__lt=before)
        partitions = [p.name for p in existing_partitions([use_case.pk]) if next_month(p.month) <= before.date()]
        retired = list(
            InferenceBatch.objects.filter(pk__in=expired.values("batch_id"))
            .order_by("pk")
            .values_list("pk", "ledger_sequence", "merkle_root", "record_count")
        )
        if not retired and not partitions:
            return None
        batch_ids = [row[0] for row in retired]
        records = sum(row[3] for row in retired)
        # The younger records of a batch that straddles the boundary go with it, so no batch is left half.
        for start in range(0, len(batch_ids), 1000):
            InferenceRecord.objects.filter(batch_id__in=batch_ids[start : start + 1000]).filter(
                started_at__gte=before
            ).delete()
        if partitioned():
            with connection.cursor() as cursor:
                # A table with deferred foreign-key checks still pending in this transaction cannot be dropped.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for name in partitions:
                    cursor.execute(f'DROP TABLE "{name}"')
        else:
            expired.delete()
        for start in range(0, len(batch_ids), 1000):
            InferenceBatch.objects.filter(pk__in=batch_ids[start : start + 1000]).delete()
        purge = InferencePurge(
            use_case=use_case,
            before=before,
            records=records,
            partitions=partitions,
            batches=[[sequence, root, count] for _pk, sequence, root, count in retired],
        )
        entry = ledger.append(
            action=LedgerAction.DELETE,
            object_type="inference.inferencerecord",
            object_id=f"{use_case.slug}<{before.date().isoformat()}",
            object_label=f"Inference records of {use_case.slug} before {before.date().isoformat()}"[:300],
            payload={
                "inference_purge": {
                    "use_case": use_case.slug,
                    "retention_days": retention_days(use_case),
                    "before": before,
                    "records": records,
                    "partitions": partitions,
                    "batches": purge.batches,
                }
            },
        )
        purge.ledger_sequence = entry.sequence
        return purge


def inference_records_purge_all(*, now: datetime.datetime | None = None) -> list[InferencePurge]:
    """The purge of every use case (Celery beat, daily)."""
    purges = [inference_records_purge(use_case=use_case, now=now) for use_case in UseCase.objects.order_by("slug")]
    return [purge for purge in purges if purge is not None]
