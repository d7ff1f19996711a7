"""A pack whose render never finishes does not stay "rendering" for ever: the sweep (Celery beat and a command)
requeues it, and fails it once it has used its renders, each recorded in the ledger; a render given up on cannot
finish the pack afterwards; and asking again with the same idempotency key restarts a failed pack."""

import datetime
import io

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.choices import LedgerAction
from audit.models import LedgerEntry
from evidence import services
from evidence.choices import PackStatus
from evidence.models import EvidencePack
from evidence.services import evidence_pack_render, evidence_pack_request, evidence_pack_sweep
from evidence.tasks import sweep_stuck_packs
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def update_entries(pack: EvidencePack) -> list[LedgerEntry]:
    """The pack's status changes in the ledger, oldest first."""
    return list(
        LedgerEntry.objects.filter(
            object_type="evidence.evidencepack", object_id=str(pack.pk), action=LedgerAction.UPDATE
        ).order_by("sequence")
    )


def updates(pack: EvidencePack) -> list[dict]:
    return [entry.payload for entry in update_entries(pack)]


def killed_mid_render(pack: EvidencePack, monkeypatch) -> EvidencePack:
    """Start a render whose worker dies inside the PDF build, past anything that could mark the pack failed."""

    def killed(**kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(services, "build_pack", killed)
        with pytest.raises(SystemExit):
            evidence_pack_render(pack_id=pack.pk)
    pack.refresh_from_db()
    assert pack.status == PackStatus.RENDERING
    return pack


def past_the_limit() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=django_settings.EVIDENCE_PACK_RENDER_TIMEOUT_S + 1)


def test_a_pack_left_rendering_is_requeued_by_the_sweep_and_rendered_once(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
) -> None:
    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)
    killed_mid_render(pack, monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        swept = evidence_pack_sweep(now=past_the_limit())

    assert [(outcome.pack_id, outcome.status) for outcome in swept] == [(pack.pk, PackStatus.QUEUED)]
    pack.refresh_from_db()
    assert pack.status == PackStatus.READY  # the requeued render ran (Celery in-process in unit tests)
    assert pack.attempts == 2
    assert EvidencePack.objects.count() == 1
    requeued, ready = updates(pack)
    assert requeued["status"] == PackStatus.QUEUED
    assert requeued["previous_status"] == PackStatus.RENDERING
    assert requeued["requeued"] is True
    assert f"within {settings.EVIDENCE_PACK_RENDER_TIMEOUT_S} s" in requeued["reason"]
    assert ready["status"] == PackStatus.READY
    assert update_entries(pack)[0].actor_name == "system:evidence"


def test_a_pack_rendering_within_the_limit_is_left_alone(world, monkeypatch) -> None:
    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)
    killed_mid_render(pack, monkeypatch)
    ready = evidence_pack_render(
        pack_id=evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False).pk
    )
    queued = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)

    assert evidence_pack_sweep() == []

    assert EvidencePack.objects.get(pk=pack.pk).status == PackStatus.RENDERING
    assert EvidencePack.objects.get(pk=ready.pk).status == PackStatus.READY
    assert EvidencePack.objects.get(pk=queued.pk).status == PackStatus.QUEUED
    assert updates(pack) == []


def test_a_pack_that_never_finishes_is_failed_once_its_renders_are_used(world, monkeypatch, settings) -> None:
    settings.EVIDENCE_PACK_RENDER_ATTEMPTS = 2
    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)
    killed_mid_render(pack, monkeypatch)
    assert [outcome.status for outcome in evidence_pack_sweep(now=past_the_limit())] == [PackStatus.QUEUED]
    killed_mid_render(pack, monkeypatch)  # the requeued render dies too

    swept = evidence_pack_sweep(now=past_the_limit())

    assert [outcome.status for outcome in swept] == [PackStatus.FAILED]
    pack.refresh_from_db()
    assert pack.status == PackStatus.FAILED
    assert "after 2 attempts" in pack.failure_reason
    assert "request the pack again" in pack.failure_reason
    assert [payload["status"] for payload in updates(pack)] == [PackStatus.QUEUED, PackStatus.FAILED]
    assert updates(pack)[-1]["reason"] == pack.failure_reason
    assert evidence_pack_sweep(now=past_the_limit()) == []  # failed is final until someone asks again


def test_a_render_given_up_on_cannot_finish_the_pack_afterwards(world, monkeypatch, settings) -> None:
    """The sweep fails a render that is in fact only slow; when that render completes, its result is dropped."""
    settings.EVIDENCE_PACK_RENDER_ATTEMPTS = 1
    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False)
    real_build = services.build_pack

    def slow(**kwargs):
        assert [outcome.status for outcome in evidence_pack_sweep(now=past_the_limit())] == [PackStatus.FAILED]
        return real_build(**kwargs)

    monkeypatch.setattr(services, "build_pack", slow)

    result = evidence_pack_render(pack_id=pack.pk)

    assert result.status == PackStatus.FAILED
    pack.refresh_from_db()
    assert (pack.status, pack.sha256, pack.file.name) == (PackStatus.FAILED, "", "")
    assert [payload["status"] for payload in updates(pack)] == [PackStatus.FAILED]
    assert not (settings.MEDIA_ROOT / "evidence-packs").exists()


def test_a_failed_pack_is_restarted_by_a_retry_with_its_key(
    world, client, monkeypatch, settings, django_capture_on_commit_callbacks
) -> None:
    """Re-posting the admin's "build a pack" form (same idempotency key) after the pack failed builds it."""
    settings.EVIDENCE_PACK_RENDER_ATTEMPTS = 1
    model_version = world.model()
    login_verified(client, world["auditor"])
    page = reverse("admin:evidence_evidencepack_model_version", args=[model_version.pk])
    pack = evidence_pack_request(
        actor=world["auditor"], model_version=model_version, idempotency_key="button-1", enqueue=False
    )
    killed_mid_render(pack, monkeypatch)
    evidence_pack_sweep(now=past_the_limit())
    pack.refresh_from_db()
    assert pack.status == PackStatus.FAILED
    failure = pack.failure_reason

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"idempotency_key": "button-1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:evidence_evidencepack_change", args=[pack.pk])
    assert EvidencePack.objects.count() == 1
    pack.refresh_from_db()
    assert (pack.status, pack.failure_reason, pack.attempts) == (PackStatus.READY, "", 1)
    restarted = updates(pack)[1]
    assert restarted == {
        "status": PackStatus.QUEUED,
        "previous_status": PackStatus.FAILED,
        "restarted": True,
        "previous_failure": failure,
    }
    assert update_entries(pack)[1].actor == world["auditor"]
    assert [payload["status"] for payload in updates(pack)] == [PackStatus.FAILED, PackStatus.QUEUED, "ready"]

    # A ready pack is returned as it is: the key still never makes a second pack or a second render.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page, {"idempotency_key": "button-1"})
    assert len(updates(pack)) == 3


def test_a_failed_render_is_restarted_by_a_retry_too(world, monkeypatch, django_capture_on_commit_callbacks) -> None:
    pack = evidence_pack_request(actor=world["auditor"], model_version=world.model(), idempotency_key="k-1")
    pack.refresh_from_db()
    assert pack.status == PackStatus.QUEUED  # not yet enqueued: the test holds the on-commit callbacks

    def broken(**kwargs):
        raise RuntimeError("font cache unreadable")

    with monkeypatch.context() as patched:
        patched.setattr(services, "build_pack", broken)
        with pytest.raises(RuntimeError):
            evidence_pack_render(pack_id=pack.pk)
    pack.refresh_from_db()
    assert pack.status == PackStatus.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        again = evidence_pack_request(actor=world["auditor"], model_version=world.model(), idempotency_key="k-1")

    assert again.pk == pack.pk
    pack.refresh_from_db()
    assert pack.status == PackStatus.READY
    assert updates(pack)[1]["previous_failure"] == "RuntimeError: font cache unreadable"


def test_the_command_and_the_beat_task_sweep(world, monkeypatch, settings) -> None:
    settings.EVIDENCE_PACK_RENDER_TIMEOUT_S = 0
    settings.EVIDENCE_PACK_RENDER_ATTEMPTS = 1
    first = killed_mid_render(
        evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False), monkeypatch
    )
    second = killed_mid_render(
        evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False), monkeypatch
    )
    out = io.StringIO()

    call_command("sweep_evidence_packs", stdout=out)

    assert f"Evidence pack #{first.pk}: failed." in out.getvalue()
    assert f"Evidence pack #{second.pk}: failed." in out.getvalue()
    assert "2 evidence pack(s) were rendering for longer than 0 s." in out.getvalue()
    assert set(EvidencePack.objects.values_list("status", flat=True)) == {PackStatus.FAILED}

    third = killed_mid_render(
        evidence_pack_request(actor=world["auditor"], model_version=world.model(), enqueue=False), monkeypatch
    )
    assert sweep_stuck_packs.delay().get() == [{"pack": third.pk, "status": PackStatus.FAILED}]
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["evidence.sweep_stuck_packs"] == 300
