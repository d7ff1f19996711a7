"""Rendering evidence packs in Celery: acknowledged late, requeued when a worker dies, idempotent."""

from celery import shared_task

from evidence.services import evidence_pack_render


@shared_task(name="evidence.render_pack", acks_late=True, reject_on_worker_lost=True)
def render_evidence_pack(pack_id: int) -> dict[str, object]:
    pack = evidence_pack_render(pack_id=pack_id)
    return {"pack": pack.pk, "status": pack.status, "sha256": pack.sha256}
