from django.core.management.base import BaseCommand, CommandError

from audit.verification import ledger_verify_and_record


class Command(BaseCommand):
    help = (
        "Recompute every ledger entry's hash and link, check the columns against the hashed bytes and every "
        "signed checkpoint (database and checkpoint storage, against each other), and that no entry has waited "
        "longer than LEDGER_CHECKPOINT_MAX_AGE_S for a checkpoint in storage. Exit 0 if all holds; 1 naming the "
        "first broken entry."
    )

    def handle(self, *args: object, **options: object) -> None:
        run = ledger_verify_and_record()
        self.stdout.write(run.uncovered_tail())
        if not run.ok:
            raise CommandError(f"Ledger BROKEN at #{run.first_broken_sequence}: {run.message}", returncode=1)
        summary = f"{run.entries_checked} entries and {run.checkpoints_checked} checkpoints verified"
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {summary}."))
