from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.catalogue import catalogue_size, load_controls
from governance.services.oscal_catalog import CatalogRefused, control_catalogue_import_oscal

#: An OSCAL catalogue larger than this is refused before it is read (NIST SP 800-53 rev. 5 is about 10 MB).
MAX_OSCAL_BYTES = 64 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Load the shipped control catalogues (SOC 2, NIST AI RMF, EU AI Act, GDPR, HIPAA, PCI DSS, "
        "ISO/IEC 42001), or with --oscal an OSCAL catalog (JSON) into one framework: creates missing frameworks "
        "and controls and corrects changed titles; never deletes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--oscal", type=Path, help="an OSCAL catalog in JSON, e.g. NIST SP 800-53 rev. 5")
        parser.add_argument("--framework", default="", help="the framework's code (default: from the catalog title)")

    def handle(self, *args: object, oscal: Path | None, framework: str, **options: object) -> None:
        if oscal is not None:
            self._import_oscal(oscal, framework)
            return
        if framework:
            raise CommandError("--framework names the framework an OSCAL catalog goes into: give --oscal too.")
        frameworks_changed, controls_changed = load_controls()
        frameworks, controls = catalogue_size()
        self.stdout.write(
            f"Control catalogues: {frameworks} frameworks, {controls} controls "
            f"({frameworks_changed + controls_changed} created or updated)."
        )

    def _import_oscal(self, path: Path, framework: str) -> None:
        try:
            if path.stat().st_size > MAX_OSCAL_BYTES:
                raise CommandError(f"{path} is larger than {MAX_OSCAL_BYTES // (1024 * 1024)} MiB.")
            raw = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from error
        try:
            report = control_catalogue_import_oscal(
                raw=raw, framework_code=framework, actor_name="system:load_controls"
            )
        except CatalogRefused as refusal:
            raise CommandError(f"{path}: {refusal}") from refusal
        self.stdout.write(
            f"{report.framework}: {report.created} controls created, {report.updated} updated, "
            f"{report.unchanged} unchanged (catalog SHA-256 {report.sha256})."
        )
