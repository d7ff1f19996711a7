"""Packs render in Celery idempotently, and only Auditors, Risk Officers and Compliance Reviewers take them away,
each download and export recorded in the ledger."""

import json

import pytest
from django.urls import reverse

from audit.choices import AccessKind, LedgerAction
from audit.models import AccessEvent, LedgerEntry
from evidence import services
from evidence.choices import PackStatus
from evidence.models import EvidencePack, PackImmutable
from evidence.services import evidence_pack_render, evidence_pack_request
from evidence.tasks import render_evidence_pack
from tests.evidence.helpers import sha256
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

DOWNLOADERS = ("auditor", "risk", "compliance")
REFUSED = ("mleng", "legal", "product", "cab", "admin")


def pack_entries(pack: EvidencePack, action: str) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(object_type="evidence.evidencepack", object_id=str(pack.pk), action=action))


def media_files(settings) -> list:
    root = settings.MEDIA_ROOT / "evidence-packs"
    return sorted(root.iterdir()) if root.exists() else []


def test_the_render_task_is_acknowledged_late_and_requeued_when_its_worker_dies() -> None:
    assert render_evidence_pack.acks_late is True
    assert render_evidence_pack.reject_on_worker_lost is True


def test_a_render_interrupted_in_process_is_finished_once_by_the_redelivered_task(world, settings, monkeypatch) -> None:
    model_version = world.model()
    pack = evidence_pack_request(
        actor=world["auditor"], model_version=model_version, idempotency_key="drill-1", enqueue=False
    )
    real_build = services.build_pack

    def killed(**kwargs):
        raise SystemExit("worker killed")  # not an Exception: nothing in the task gets to mark the pack failed

    monkeypatch.setattr(services, "build_pack", killed)
    with pytest.raises(SystemExit):
        render_evidence_pack.delay(pack.pk)
    pack.refresh_from_db()
    assert pack.status == PackStatus.RENDERING

    monkeypatch.setattr(services, "build_pack", real_build)
    render_evidence_pack.delay(pack.pk)  # the broker redelivers the unacknowledged task
    render_evidence_pack.delay(pack.pk)  # and a duplicate delivery changes nothing

    again = evidence_pack_request(actor=world["auditor"], model_version=model_version, idempotency_key="drill-1")
    assert again.pk == pack.pk
    assert EvidencePack.objects.count() == 1
    pack.refresh_from_db()
    assert pack.status == PackStatus.READY
    assert pack.progress == 100
    assert len(media_files(settings)) == 1
    assert sha256(pack.file.read()) == pack.sha256
    assert len(pack_entries(pack, LedgerAction.CREATE)) == 1
    ready = pack_entries(pack, LedgerAction.UPDATE)
    assert [entry.payload["status"] for entry in ready] == ["ready"]
    assert ready[0].payload["sha256"] == pack.sha256


def test_a_ready_pack_never_changes(world) -> None:
    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)
    pack = evidence_pack_render(pack_id=pack.pk)
    digest = pack.sha256
    assert evidence_pack_render(pack_id=pack.pk).sha256 == digest
    pack.page_count = 1
    with pytest.raises(PackImmutable):
        pack.save()


def test_only_auditors_risk_officers_and_compliance_reviewers_download_and_each_download_is_recorded(
    world, client, django_capture_on_commit_callbacks
) -> None:
    model_version = world.model()
    login_verified(client, world["auditor"])
    page = reverse("admin:evidence_evidencepack_model_version", args=[model_version.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"idempotency_key": "button-1"})
    pack = EvidencePack.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:evidence_evidencepack_change", args=[pack.pk])
    assert pack.status == PackStatus.READY  # Celery runs in-process in unit tests
    change = client.get(response["Location"])
    assert b"<progress" in change.content
    assert b"Download PDF" in change.content
    listing = client.get(reverse("admin:evidence_evidencepack_changelist"))
    assert reverse("admin:evidence_evidencepack_download", args=[pack.pk]).encode() in listing.content
    progress = json.loads(client.get(reverse("admin:evidence_evidencepack_progress", args=[pack.pk])).content)
    assert progress == {"status": "ready", "progress": 100, "reason": ""}

    download = reverse("admin:evidence_evidencepack_download", args=[pack.pk])
    for username in DOWNLOADERS:
        login_verified(client, world[username])
        response = client.get(download)
        assert response.status_code == 200, username
        assert sha256(response.content) == pack.sha256
        event = AccessEvent.objects.filter(user=world[username], kind=AccessKind.DOWNLOAD).get()
        entry = LedgerEntry.objects.filter(action=LedgerAction.DOWNLOAD, actor=world[username]).get()
        assert entry.object_id == str(pack.pk)
        assert entry.payload["access_event"] == event.pk
        assert entry.payload["sha256"] == pack.sha256
    for username in REFUSED:
        login_verified(client, world[username])
        assert client.get(download).status_code == 403, username
    assert LedgerEntry.objects.filter(action=LedgerAction.DOWNLOAD).count() == len(DOWNLOADERS)
    denials = LedgerEntry.objects.filter(action=LedgerAction.DENIED, object_type="evidence.evidencepack")
    assert denials.count() >= 1  # people who can see the pack but may not take it away


def test_standalone_exports_of_a_model_version_are_recorded(world, client) -> None:
    model_version = world.model()
    world.gate(model_version)
    login_verified(client, world["auditor"])
    for kind in ("cyclonedx", "prov", "ledger"):
        url = reverse("admin:evidence_evidencepack_export", args=[model_version.pk, kind])
        response = client.get(url)
        assert response.status_code == 200, kind
        entry = LedgerEntry.objects.filter(action=LedgerAction.EXPORT, actor=world["auditor"]).latest("sequence")
        assert entry.payload["format"] == kind
        assert entry.payload["sha256"] == sha256(response.content)
    lines = response.content.splitlines()
    assert lines
    assert all(json.loads(line)["entry"]["sequence"] for line in lines)
    login_verified(client, world["mleng"])
    url = reverse("admin:evidence_evidencepack_export", args=[model_version.pk, "cyclonedx"])
    assert client.get(url).status_code == 403
