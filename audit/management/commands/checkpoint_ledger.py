import logging
import time
from argparse import ArgumentParser

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from audit.checkpoints import CheckpointInconsistent, ledger_checkpoint_create

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Make a signed Merkle checkpoint of the audit ledger now and send it out of the database's reach (Celery beat "
        "also makes them, within LEDGER_CHECKPOINT_INTERVAL_S of new entries)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--repeat",
            action="store_true",
            help=(
                "Keep checkpointing every LEDGER_CHECKPOINT_INTERVAL_S seconds until stopped: what Celery beat does, "
                "for a pilot that runs none (`make run`)."
            ),
        )

    def handle(self, *args: object, repeat: bool = False, **options: object) -> None:
        if not repeat:
            self._checkpoint()
            return
        try:
            while True:
                try:
                    self._checkpoint(quiet=True)
                except (CheckpointInconsistent, DatabaseError, OSError) as error:  # tried again next time
                    logger.error("Ledger checkpoint failed: %s", error)
                time.sleep(settings.LEDGER_CHECKPOINT_INTERVAL_S)
        except KeyboardInterrupt:
            return

    def _checkpoint(self, *, quiet: bool = False) -> None:
        checkpoint = ledger_checkpoint_create()
        if checkpoint is not None:
            self.stdout.write(f"Checkpoint at {checkpoint.tree_size} entries, root {checkpoint.root_hash_hex}.")
        elif not quiet:
            self.stdout.write("Nothing new since the last checkpoint.")
