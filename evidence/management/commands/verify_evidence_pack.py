from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.verify import PackInvalid, verify_pack


class Command(BaseCommand):
    help = (
        "Verify an evidence pack or an output provenance statement against this portal: first the standalone "
        "verifier's offline checks with this portal's published keys (document signature, embedded files, checkpoint "
        "signature, hash chain, Merkle inclusion, completeness, and a statement's answer record), then the checkpoint "
        "and the ledger slice against this database, and the document as issued here. Exit 0 if all hold, 1 with the "
        "reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the evidence pack or output provenance statement (PDF)")

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
        if report.is_statement:
            download = report.download
            self.stdout.write(
                self.style.SUCCESS(
                    f"Output provenance statement OK: SHA-256 {report.sha256}, issued to "
                    f"{download.user.get_username()} at {download.occurred_at:%Y-%m-%d %H:%M:%S} UTC (access event "
                    f"#{download.pk}); {len(report.files)} embedded files match the manifest; {report.entries} ledger "
                    f"entries included in checkpoint {report.tree_size} and unchanged in the database; the answer's "
                    f"record {report.record_state}."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack OK: #{report.pack_id}, SHA-256 {report.sha256}; {len(report.files)} embedded files "
                f"match the manifest; {report.entries} ledger entries included in checkpoint {report.tree_size} "
                "and unchanged in the database."
            )
        )
