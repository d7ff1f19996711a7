from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import UseCase
from inference.retention import inference_records_purge, purge_boundary, retention_days


class Command(BaseCommand):
    help = (
        "Purge the inference records of every wholly expired month (INFERENCE_RETENTION_DAYS, per use case "
        "INFERENCE_RETENTION_DAYS_BY_USE_CASE) and their batches: PostgreSQL drops the partitions. Each use case's "
        "purge is one ledger entry naming the period, the record count and the batch roots it retired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", help="slug of one use case (default: every use case)")

    def handle(self, *args: object, use_case: str | None, **options: object) -> None:
        use_cases = UseCase.objects.order_by("slug")
        if use_case:
            use_cases = use_cases.filter(slug=use_case)
            if not use_cases.exists():
                raise CommandError(f"No use case {use_case!r}.", returncode=1)
        for each in use_cases:
            purge = inference_records_purge(use_case=each)
            before = purge_boundary(each).date().isoformat()
            if purge is None:
                self.stdout.write(f"{each.slug}: nothing before {before} ({retention_days(each)} days kept)")
            else:
                self.stdout.write(
                    f"{each.slug}: {purge.records} record(s) of {len(purge.batches)} batch(es) before {before} "
                    f"purged, {len(purge.partitions)} partition(s) dropped (ledger entry {purge.ledger_sequence})"
                )
