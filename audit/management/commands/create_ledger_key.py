from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.signing_keys import generate_private_key_pem, key_id, parse_private_key, public_key_bytes


class Command(BaseCommand):
    help = "Generate an Ed25519 ledger signing key (PEM): printed, or written to --output (never overwritten)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="File to write; left alone if it exists.")

    def handle(self, *args: object, output: Path | None, **options: object) -> None:
        pem = generate_private_key_pem()
        if output is None:
            self.stdout.write(pem)
            return
        if output.exists():
            self.stdout.write(f"{output} exists; kept as it is.")
            return
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.touch(mode=0o600, exist_ok=False)
            output.write_text(pem)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error}") from error
        self.stdout.write(f"Ledger signing key {key_id(public_key_bytes(parse_private_key(pem)))} written to {output}.")
