from django.core.management.base import BaseCommand

from audit.checkpoints import ledger_checkpoint_create


class Command(BaseCommand):
    help = "Make a signed Merkle checkpoint of the audit ledger now (Celery beat also makes them on schedule)."

    def handle(self, *args: object, **options: object) -> None:
        checkpoint = ledger_checkpoint_create()
        if checkpoint is None:
            self.stdout.write("Nothing new since the last checkpoint.")
        else:
            self.stdout.write(f"Checkpoint at {checkpoint.tree_size} entries, root {checkpoint.root_hash_hex}.")
