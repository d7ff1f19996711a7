from django.conf import settings
from django.core.management.base import BaseCommand

from evidence.services import evidence_pack_sweep


class Command(BaseCommand):
    help = (
        "Requeue evidence packs rendering for longer than EVIDENCE_PACK_RENDER_TIMEOUT_S, or fail those that have "
        "used EVIDENCE_PACK_RENDER_ATTEMPTS renders (what Celery beat runs every few minutes)."
    )

    def handle(self, *args: object, **options: object) -> None:
        swept = evidence_pack_sweep()
        for pack in swept:
            self.stdout.write(f"Evidence pack #{pack.pack_id}: {pack.status}. {pack.reason}")
        limit = settings.EVIDENCE_PACK_RENDER_TIMEOUT_S
        self.stdout.write(
            self.style.SUCCESS(f"{len(swept)} evidence pack(s) were rendering for longer than {limit} s.")
        )
