from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.verify import PackInvalid, verify_pack


class Command(BaseCommand):
    help = (
        "Verify an evidence pack against this portal: first the standalone verifier's offline checks with this "
        "portal's published keys (document signature, embedded files, checkpoint signature, hash chain, Merkle "
        "inclusion), then the checkpoint and the ledger slice against this database and the pack as issued here. "
        "Exit 0 if all hold, 1 with the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the evidence pack (PDF)")

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["file"]))
        try:
            pdf = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}", returncode=1) from error
        try:
            report = verify_pack(pdf)
        except PackInvalid as failure:
            raise CommandError(f"Evidence pack INVALID: {failure}", returncode=1) from failure
        for passed in report.offline.passed:
            self.stdout.write(f"ok  {passed.check}: {passed.detail}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack OK: #{report.pack_id}, SHA-256 {report.sha256}; {len(report.files)} embedded files "
                f"match the manifest; {report.entries} ledger entries included in checkpoint {report.tree_size} "
                "and unchanged in the database."
            )
        )
