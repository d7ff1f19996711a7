from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from audit import state_replay
from audit.verification import ledger_verify_and_record

#: Differences named in the command's output; all of them are kept with the run.
SHOWN_DIFFERENCES = 50


class Command(BaseCommand):
    help = (
        "Recompute every ledger entry's hash and link, check the columns against the hashed bytes and every "
        "signed checkpoint (database and checkpoint storage, against each other), and that no entry has waited "
        "longer than LEDGER_CHECKPOINT_MAX_AGE_S for a checkpoint in storage. Exit 0 if all holds; 1 naming the "
        "first broken entry. With --state, also replay the ledger over every governed record and name each row "
        "and field that differs. With --since-last, check only the entries after the newest checkpoint a passing "
        "run verified, and the stored tree's consistency with it (the frequent check; the full run is the daily one)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--state",
            action="store_true",
            help="Also compare every governed row with the field values the ledger last recorded for it.",
        )
        parser.add_argument(
            "--since-last",
            action="store_true",
            help="Only the entries after the last verified checkpoint and the consistency proof to it (a full run "
            "instead if none was verified yet or the last run failed).",
        )

    def handle(self, *args: object, **options: object) -> None:
        run = ledger_verify_and_record(state=bool(options["state"]), since_last=bool(options["since_last"]))
        self.stdout.write(run.uncovered_tail())
        if not run.ok:
            raise CommandError(f"Ledger BROKEN at #{run.first_broken_sequence}: {run.message}", returncode=1)
        if run.state_differences:
            shown = run.differences.order_by("object_type", "object_id", "field")[:SHOWN_DIFFERENCES]
            lines = [state_replay.describe(difference) for difference in shown]
            if run.state_differences > len(lines):
                lines.append(f"... and {run.state_differences - len(lines)} more (see the ledger verification)")
            raise CommandError(
                f"Governed records DIFFER from the ledger ({run.state_differences}):\n" + "\n".join(lines),
                returncode=1,
            )
        summary = (
            f"{run.entries_checked} entries, {run.checkpoints_checked} checkpoints and {run.tiles_checked} stored tree "
            "tiles verified"
        )
        if run.since_last:
            summary += f" after the checkpoint of {run.base_tree_size} entries"
        if run.state_checked:
            summary += f"; {run.records_checked} governed records agree with it"
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {summary}."))
