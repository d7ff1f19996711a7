"""At volume and with retention: records live in one partition per use case and month on PostgreSQL, and whole
expired months are purged with one ledger entry that retires their batches, while every remaining record proves."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.choices import LedgerAction
from audit.models import LedgerEntry
from inference.models import InferenceBatch, InferenceRecord
from inference.partitions import existing_partitions, month_start, next_month, partition_name
from inference.proofs import record_is_proven
from inference.retention import RETENTION_ACTOR, inference_records_purge, purge_boundary
from inference.tasks import create_upcoming_partitions, purge_expired_records
from tests.inference.conftest import genai_attributes, post

pytestmark = pytest.mark.django_db
PARTITIONED = "partitions are PostgreSQL's; SQLite keeps one plain table"


def send(intake, spans, *moments: datetime.datetime, prefix: str) -> InferenceBatch:
    made = spans()
    for number, moment in enumerate(moments):
        made.add(at=moment, **genai_attributes(**{"gen_ai.response.id": f"{prefix}{number}"}))
    before = set(InferenceBatch.objects.values_list("pk", flat=True))
    assert post(intake, made.protobuf()).status_code == 200
    return InferenceBatch.objects.exclude(pk__in=before).get()


def rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - a partition's name
        return cursor.fetchone()[0]


@pytest.fixture
def retention(settings, world):
    settings.INFERENCE_RETENTION_DAYS_BY_USE_CASE = {world.use_case.slug: 60}
    return purge_boundary(world.use_case)


@pytest.mark.postgres(reason=PARTITIONED)
def test_each_record_lands_in_the_partition_of_its_use_case_and_month_made_on_demand(intake, world, spans):
    long_ago = timezone.now() - datetime.timedelta(days=800)
    send(intake, spans, long_ago, timezone.now(), prefix="r")

    months = {partition.month for partition in existing_partitions([world.use_case.pk])}
    assert months == {month_start(long_ago), month_start(timezone.now())}
    assert rows_in(partition_name(world.use_case.pk, month_start(long_ago))) == 1
    assert rows_in(partition_name(world.use_case.pk, month_start(timezone.now()))) == 1


@pytest.mark.postgres(reason=PARTITIONED)
def test_a_retried_span_is_still_refused_by_the_partitioned_unique_constraint(intake, world, spans):
    from django.db import IntegrityError, transaction

    send(intake, spans, timezone.now(), prefix="r")
    record = InferenceRecord.objects.get()
    record.pk, record.position = None, 1
    with pytest.raises(IntegrityError), transaction.atomic():
        record.save()


@pytest.mark.postgres(reason=PARTITIONED)
def test_beat_and_the_command_create_this_and_next_months_partitions_once(world):
    this_month = month_start(timezone.now())
    made = create_upcoming_partitions()

    assert partition_name(world.use_case.pk, this_month) in made
    assert partition_name(world.use_case.pk, next_month(this_month)) in made
    assert create_upcoming_partitions() == []
    out = StringIO()
    call_command("create_inference_partitions", "--months-ahead", "2", stdout=out)
    assert partition_name(world.use_case.pk, next_month(next_month(this_month))) in out.getvalue()
    with pytest.raises(CommandError, match="between 0 and 24"):
        call_command("create_inference_partitions", "--months-ahead", "25")


def test_a_purge_retires_whole_expired_months_in_one_ledger_entry_and_the_ledger_still_verifies(
    intake, world, spans, retention
):
    expired = send(intake, spans, retention - datetime.timedelta(days=10), prefix="old")
    straddling = send(
        intake, spans, retention - datetime.timedelta(hours=1), retention + datetime.timedelta(hours=1), prefix="edge"
    )
    kept = send(intake, spans, retention + datetime.timedelta(days=1), timezone.now(), prefix="new")
    expired_partitions = [p.name for p in existing_partitions([world.use_case.pk]) if p.month < retention.date()]
    entries_before = LedgerEntry.objects.count()

    purge = inference_records_purge(use_case=world.use_case)

    assert purge is not None
    assert purge.records == 3
    assert purge.partitions == expired_partitions
    assert set(InferenceBatch.objects.values_list("pk", flat=True)) == {kept.pk}
    assert sorted(InferenceRecord.objects.values_list("response_id", flat=True)) == ["new0", "new1"]
    assert all(record_is_proven(record) for record in InferenceRecord.objects.all())
    assert LedgerEntry.objects.count() == entries_before + 1
    entry = LedgerEntry.objects.get(sequence=purge.ledger_sequence)
    assert (entry.action, entry.actor_name) == (LedgerAction.DELETE, RETENTION_ACTOR)
    assert entry.payload["inference_purge"] == {
        "use_case": world.use_case.slug,
        "retention_days": 60,
        "before": retention.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "records": 3,
        "partitions": expired_partitions,
        "batches": [
            [expired.ledger_sequence, expired.merkle_root, 1],
            [straddling.ledger_sequence, straddling.merkle_root, 2],
        ],
    }
    assert "Ledger OK" in call_command_output("verify_ledger")
    if connection.vendor == "postgresql":
        assert not [p for p in existing_partitions([world.use_case.pk]) if p.month < retention.date()]
    assert inference_records_purge(use_case=world.use_case) is None


def call_command_output(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_beat_task_and_the_command_purge_each_use_case_with_its_own_retention(
    intake, world, spans, retention, settings
):
    send(intake, spans, retention - datetime.timedelta(days=1), prefix="old")
    send(intake, spans, timezone.now(), prefix="new")

    purged = purge_expired_records()

    last = LedgerEntry.objects.order_by("-sequence").first()
    assert purged == [{"use_case": world.use_case.slug, "records": 1, "ledger_sequence": last.sequence}]
    assert "nothing before" in call_command_output("purge_inference_records", "--use-case", world.use_case.slug)
    assert InferenceRecord.objects.count() == 1
    with pytest.raises(CommandError, match="No use case 'nope'"):
        call_command("purge_inference_records", "--use-case", "nope")


def test_records_within_the_default_retention_are_kept(intake, world, spans):
    send(intake, spans, timezone.now() - datetime.timedelta(days=200), timezone.now(), prefix="r")

    assert inference_records_purge(use_case=world.use_case) is None
    assert InferenceRecord.objects.count() == 2
