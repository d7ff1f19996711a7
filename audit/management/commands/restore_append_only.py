from django.core.management.base import BaseCommand, CommandParser
from django.db import connections, transaction

from audit import append_only


class Command(BaseCommand):
    help = (
        "Put the append-only triggers back on every audit and history table that has lost them (or, on PostgreSQL, "
        "has them disabled), as system check governance.E012 reports. Run it as the table owner. Missing triggers "
        "mean someone with the owner's rights removed them: run verify_ledger afterwards, since the hash chain and "
        "the checkpoints outside the database are what show whether evidence was changed meanwhile."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args: object, database: str, **options: object) -> None:
        connection = connections[database]
        with transaction.atomic(using=database), connection.cursor() as cursor:
            tables = append_only.unprotected_tables(connection)
            for table in tables:
                for statement in append_only.restore_statements(connection.vendor, table):
                    cursor.execute(statement)
        for table in tables:
            self.stdout.write(f"Restored the append-only triggers of {table}.")
        self.stdout.write(f"{len(tables)} table(s) restored; every append-only table carries its triggers.")
