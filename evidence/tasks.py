"""Rendering evidence packs in Celery: acknowledged late, requeued when a worker dies, idempotent; and the beat
task that requeues (or fails) packs left rendering when that is not enough."""

from celery import shared_task

from evidence.services import evidence_pack_render, evidence_pack_sweep


@shared_task(name="evidence.render_pack", acks_late=True, reject_on_worker_lost=True)
def render_evidence_pack(pack_id: int) -> dict[str, object]:
    pack = evidence_pack_render(pack_id=pack_id)
    return {"pack": pack.pk, "status": pack.status, "sha256": pack.sha256}


@shared_task(name="evidence.sweep_stuck_packs", acks_late=True, reject_on_worker_lost=True)
def sweep_stuck_packs() -> list[dict[str, object]]:
    """Celery beat: packs rendering longer than ``EVIDENCE_PACK_RENDER_TIMEOUT_S`` are requeued or failed. Safe to
    run any number of times: each pack is looked at again under its lock."""
    return [{"pack": swept.pack_id, "status": swept.status} for swept in evidence_pack_sweep()]
