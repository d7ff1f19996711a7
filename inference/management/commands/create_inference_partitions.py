from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.partitions import inference_partitions_create_upcoming, partitioned


class Command(BaseCommand):
    help = (
        "Create the inference record partitions (PostgreSQL: one per use case and month) for this month and the "
        "next --months-ahead months. Celery beat does this daily; on SQLite there is nothing to create."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months-ahead", type=int, default=1, help="months after this one (default 1, 0-24)")

    def handle(self, *args: object, months_ahead: int, **options: object) -> None:
        if not 0 <= months_ahead <= 24:
            raise CommandError("--months-ahead is between 0 and 24.", returncode=1)
        if not partitioned():
            self.stdout.write("The inference record table is not partitioned on this database: nothing to create.")
            return
        made = inference_partitions_create_upcoming(months_ahead=months_ahead)
        for name in made:
            self.stdout.write(f"created {name}")
        self.stdout.write(f"{len(made)} partition(s) created.")
