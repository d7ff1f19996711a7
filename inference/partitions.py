"""The inference record table's partitions on PostgreSQL: one per use case and calendar month (UTC).

On PostgreSQL ``inference_inferencerecord`` is declaratively partitioned ``BY RANGE (use_case_id, started_at)``
(migration ``0002``): each partition holds one use case's answers that started in one month, so a monitoring rollup
reads only the partitions of its use case and period, and retention, which is set per use case, drops whole
partitions instead of deleting rows (``inference.retention``). Plain declarative partitioning is enough here: the
one thing a partitioning library would add is creating partitions ahead, which ``inference_partitions_ensure``
does in a few lines, and the record table keeps an ordinary Django model (bulk inserts and ``COPY`` work unchanged).

PostgreSQL wants the partition key in every unique constraint, so there the primary key is
``(id, use_case_id, started_at)`` and the span and position constraints carry both columns too (``id`` still comes
from one sequence, so it stays unique; a retried span has the same use case and start, so it is still refused).
Nothing references a record by foreign key (an incident cites record ids), which partitioned tables would forbid.

A row whose use case and month have no partition cannot be inserted, and there is no default partition (it would
have to be scanned, and emptied, before each new partition could be made). The Celery beat task creates the
current and next month's partitions for every use case each day; the intake also creates any that a batch needs
and that do not exist yet (a span from long ago, or a use case created today), before its insert. SQLite keeps
one plain table, and every function here does nothing there.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from governance.models import UseCase

TABLE = "inference_inferencerecord"


def month_start(moment: datetime.datetime | datetime.date) -> datetime.date:
    return datetime.date(moment.year, moment.month, 1)


def next_month(month: datetime.date) -> datetime.date:
    return datetime.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(use_case_id: int, month: datetime.date) -> str:
    return f"{TABLE}_u{use_case_id}_{month:%Y%m}"


def create_partition_sql(use_case_id: int, month: datetime.date) -> str:
    """``CREATE TABLE`` of the partition for one use case's answers that started in ``month`` (UTC)."""
    start, end = month_start(month), next_month(month_start(month))
    return (
        f'CREATE TABLE IF NOT EXISTS "{partition_name(use_case_id, start)}" PARTITION OF "{TABLE}" '
        f"FOR VALUES FROM ({int(use_case_id)}, '{start.isoformat()} 00:00:00+00') "
        f"TO ({int(use_case_id)}, '{end.isoformat()} 00:00:00+00')"
    )


def partitioned() -> bool:
    """The record table is partitioned (PostgreSQL), rather than one plain table (SQLite)."""
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class Partition:
    """One existing partition: the use case and the month whose answers it holds."""

    name: str
    use_case_id: int
    month: datetime.date


def existing_partitions(use_case_ids: Iterable[int] | None = None) -> list[Partition]:
    """The record table's partitions, oldest month first (none on SQLite)."""
    if not partitioned():
        return []
    wanted = None if use_case_ids is None else set(use_case_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    prefix = f"{TABLE}_u"
    for name in names:
        use_case, _sep, month = name.removeprefix(prefix).partition("_")
        partition = Partition(name, int(use_case), datetime.date(int(month[:4]), int(month[4:]), 1))
        if wanted is None or partition.use_case_id in wanted:
            found.append(partition)
    return sorted(found, key=lambda partition: (partition.month, partition.use_case_id))


def inference_partitions_ensure(needed: Iterable[tuple[int, datetime.date]]) -> list[str]:
    """Create the partitions of the ``(use case id, month)`` pairs that have none yet; returns the names made.

    Creating a partition locks the parent table until the transaction ends, so the names are checked first and only
    missing ones are made: on the intake's path that is almost never (the beat task makes them ahead). Call it before
    the transaction inserts any record, or two sessions could wait for each other."""
    if not partitioned():
        return []
    wanted = {(use_case_id, month_start(month)) for use_case_id, month in needed}
    if not wanted:
        return []
    use_case_ids = {use_case_id for use_case_id, _month in wanted}
    if wanted <= {(partition.use_case_id, partition.month) for partition in existing_partitions(use_case_ids)}:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        # One creator at a time, and the second finds the first's partitions: two sessions creating partitions of
        # the same table at once would deadlock on its lock.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        have = {(partition.use_case_id, partition.month) for partition in existing_partitions(use_case_ids)}
        missing = sorted(wanted - have)
        for use_case_id, month in missing:
            cursor.execute(create_partition_sql(use_case_id, month))
    return [partition_name(use_case_id, month) for use_case_id, month in missing]


def inference_partitions_create_upcoming(*, months_ahead: int = 1, today: datetime.date | None = None) -> list[str]:
    """The partitions of this month and the next ``months_ahead`` months for every use case (Celery beat, daily)."""
    month = month_start(today or datetime.datetime.now(datetime.UTC).date())
    months = [month]
    for _ in range(months_ahead):
        months.append(next_month(months[-1]))
    use_case_ids = list(UseCase.objects.values_list("pk", flat=True))
    return inference_partitions_ensure((use_case_id, each) for use_case_id in use_case_ids for each in months)
