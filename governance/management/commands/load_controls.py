from django.core.management.base import BaseCommand

from governance.catalogue import catalogue_size, load_controls


class Command(BaseCommand):
    help = (
        "Load the shipped control catalogues (SOC 2, NIST AI RMF, EU AI Act, GDPR, HIPAA, PCI DSS, "
        "ISO/IEC 42001): creates missing frameworks and controls and corrects changed titles; never deletes."
    )

    def handle(self, *args: object, **options: object) -> None:
        frameworks_changed, controls_changed = load_controls()
        frameworks, controls = catalogue_size()
        self.stdout.write(
            f"Control catalogues: {frameworks} frameworks, {controls} controls "
            f"({frameworks_changed + controls_changed} created or updated)."
        )
