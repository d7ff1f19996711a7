"""The drill: a real Celery worker process is killed in the middle of rendering a pack. The broker hands the
unacknowledged task to a new worker process, and there is still exactly one pack, one file and one "ready"
ledger entry."""

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from audit.checkpoints import checkpoint_storage
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from evidence.choices import PackStatus
from evidence.models import EvidencePack
from evidence.services import evidence_pack_request
from evidence.tasks import render_evidence_pack
from tests import services
from tests.workers import start_worker, worker_database_url


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def wait_for(condition, *, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    return None


def status_of(pack_id: int) -> str:
    return EvidencePack.objects.values_list("status", flat=True).get(pk=pack_id)


@pytest.mark.redis
@services.postgres_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_render_yields_exactly_one_pack(world, settings) -> None:
    model_version = world.model()
    world.gate(model_version)
    queue = f"evidence-drill-{uuid.uuid4().hex}"
    worker = start_worker(
        queue,
        pool="prefork",
        env={
            "DJANGO_SETTINGS_MODULE": "tests.evidence.worker_settings",
            "DATABASE_URL": worker_database_url(),
            "EVIDENCE_DRILL_SIGNING_KEY": settings.LEDGER_SIGNING_KEY,
            "EVIDENCE_DRILL_EVIDENCE_KEY_FILE": settings.EVIDENCE_SIGNING_KEY_FILE,
            "EVIDENCE_DRILL_EVIDENCE_CERT_FILE": settings.EVIDENCE_SIGNING_CERT_FILE,
            "EVIDENCE_DRILL_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "EVIDENCE_DRILL_CHECKPOINT_DIR": checkpoint_storage().location,
        },
    )
    try:
        pack = evidence_pack_request(actor=world["auditor"], model_version=model_version, enqueue=False)
        render_evidence_pack.apply_async(args=[pack.pk], queue=queue)

        assert wait_for(lambda: status_of(pack.pk) == PackStatus.RENDERING, timeout=90), "never started"
        victims = children(worker.pid)
        assert victims, "no worker process to kill"
        for victim in victims:
            os.kill(victim, signal.SIGKILL)

        assert wait_for(lambda: status_of(pack.pk) == PackStatus.READY, timeout=120, interval=0.5)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)

    assert "WorkerLostError" in output or "signal 9" in output, output
    assert EvidencePack.objects.count() == 1
    pack.refresh_from_db()
    files = list((Path(settings.MEDIA_ROOT) / "evidence-packs").iterdir())
    assert len(files) == 1
    ready = LedgerEntry.objects.filter(
        object_type="evidence.evidencepack", object_id=str(pack.pk), action=LedgerAction.UPDATE
    )
    assert [entry.payload["status"] for entry in ready] == ["ready"]
