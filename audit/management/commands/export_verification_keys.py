import json

from django.core.management.base import BaseCommand

from audit.verification_keys import published


class Command(BaseCommand):
    help = (
        "Print, as JSON, every ledger checkpoint public key and evidence signing certificate the portal has ever "
        "signed with (full SHA-256 fingerprints, validity): the trust list an offline verifier is given."
    )

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(json.dumps(published(), indent=2, sort_keys=True))
