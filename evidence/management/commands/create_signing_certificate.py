from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.signing import describe, self_signed


class Command(BaseCommand):
    help = (
        "Generate an evidence signing key and a self-signed X.509 certificate for it (PEM), for a pilot: written to "
        "EVIDENCE_SIGNING_KEY_FILE and EVIDENCE_SIGNING_CERT_FILE (or --key and --cert), never over existing files. "
        "In production, configure the organisation's CA-issued certificate instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", type=Path, help="Key file (default: EVIDENCE_SIGNING_KEY_FILE).")
        parser.add_argument("--cert", type=Path, help="Certificate file (default: EVIDENCE_SIGNING_CERT_FILE).")
        parser.add_argument(
            "--organisation", default="LLM Governance Portal", help="The name the certificate is issued to."
        )

    def handle(self, *args: object, key: Path | None, cert: Path | None, organisation: str, **options: object) -> None:
        key = key or (Path(settings.EVIDENCE_SIGNING_KEY_FILE) if settings.EVIDENCE_SIGNING_KEY_FILE else None)
        cert = cert or (Path(settings.EVIDENCE_SIGNING_CERT_FILE) if settings.EVIDENCE_SIGNING_CERT_FILE else None)
        if key is None or cert is None:
            raise CommandError(
                "Give --key and --cert, or set EVIDENCE_SIGNING_KEY_FILE and EVIDENCE_SIGNING_CERT_FILE."
            )
        if key.exists() or cert.exists():
            if not (key.exists() and cert.exists()):
                raise CommandError(f"Only one of {key} and {cert} exists: remove it or supply the other.")
            self.stdout.write(f"{cert} exists; kept as it is.")
            return
        key_pem, cert_pem = self_signed(organisation.strip() or "LLM Governance Portal")
        try:
            key.parent.mkdir(parents=True, exist_ok=True)
            key.touch(mode=0o600, exist_ok=False)
            key.write_bytes(key_pem)
            cert.parent.mkdir(parents=True, exist_ok=True)
            cert.write_bytes(cert_pem)
        except OSError as error:
            raise CommandError(f"Cannot write the key or certificate: {error}") from error
        from cryptography import x509

        described = describe(x509.load_pem_x509_certificate(cert_pem))
        self.stdout.write(
            f"Self-signed evidence signing certificate for {described.subject} written to {cert} (key: {key}); "
            f"SHA-256 {described.sha256_fingerprint}, valid until {described.not_after:%Y-%m-%d}."
        )
