"""Requesting, rendering and downloading evidence packs.

A pack is requested once per idempotency key; rendering is idempotent (a retried or requeued task finds the
pack ready, or renders the same pack again), so a worker killed mid-render still leaves exactly one pack.

A render that never finishes (its worker killed past the broker's redelivery, the task's time limit reached, its
message lost) would leave the pack "rendering" for ever: ``evidence_pack_sweep`` (Celery beat and the
``sweep_evidence_packs`` command) requeues a pack rendering for longer than ``EVIDENCE_PACK_RENDER_TIMEOUT_S``,
and fails it once ``EVIDENCE_PACK_RENDER_ATTEMPTS`` renders have been started. Each render is numbered; only the
newest may complete or fail the pack. Requesting a failed pack again with its idempotency key restarts it.
"""

import datetime
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.authz import holds_approval_permission
from audit import ledger
from audit.access import access_record
from audit.choices import AccessKind, LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from audit.models import LedgerEntry
from evidence.builder import build_pack
from evidence.choices import PackScope, PackStatus
from evidence.collect import PackData, collect, ledger_slice
from evidence.exports import bom_bytes, ledger_jsonl, provenance_bytes
from evidence.models import EvidencePack
from governance.models import UseCase
from registry.models import ModelVersion

DOWNLOAD_PERMISSION = "evidence.view_pdf_evidencepack"
SYSTEM = "system:evidence"

logger = logging.getLogger(__name__)


def evidence_pack_request(
    *,
    actor: AbstractBaseUser | None,
    model_version: ModelVersion | None = None,
    use_case: UseCase | None = None,
    idempotency_key: str = "",
    enqueue: bool = True,
) -> EvidencePack:
    """Queue a pack for a model version or for a whole use case. The same key returns the same pack, except that
    a failed pack is restarted: the retry is the person (or pipeline) asking again for what they did not get."""
    if (model_version is None) == (use_case is None):
        raise ValueError("An evidence pack covers either one model version or one use case.")
    key = idempotency_key or uuid.uuid4().hex
    with transaction.atomic():
        existing = EvidencePack.objects.select_for_update().filter(idempotency_key=key).first()
        if existing is not None:
            if existing.status == PackStatus.FAILED:
                _restart(existing, actor=actor, enqueue=enqueue)
            return existing
        pack = EvidencePack.objects.create(
            scope=PackScope.MODEL_VERSION if model_version is not None else PackScope.USE_CASE,
            model_version=model_version,
            use_case=model_version.use_case if model_version is not None else use_case,
            requested_by=actor,
            idempotency_key=key,
        )
        ledger.append(
            action=LedgerAction.CREATE,
            obj=pack,
            actor=actor,
            actor_name="" if actor is not None else "system:command",
            payload={"scope": pack.scope, "subject": pack.scope_label, "idempotency_key": key},
        )
        if enqueue:
            _enqueue(pack)
        return pack


def _enqueue(pack: EvidencePack) -> None:
    from evidence.tasks import render_evidence_pack

    transaction.on_commit(lambda: render_evidence_pack.delay(pack.pk))


def _requeue(pack: EvidencePack, *, status_payload: dict[str, object], actor: AbstractBaseUser | None = None) -> None:
    """Back to the queue (the caller holds the row lock), recorded in the ledger."""
    previous = pack.status
    pack.status = PackStatus.QUEUED
    pack.progress = 0
    pack.started_at = None
    pack.finished_at = None
    pack.save(update_fields=["status", "progress", "started_at", "finished_at", "attempts", "failure_reason"])
    ledger.append(
        action=LedgerAction.UPDATE,
        obj=pack,
        actor=actor,
        actor_name="" if actor is not None else SYSTEM,
        payload={"status": PackStatus.QUEUED, "previous_status": previous, **status_payload},
    )


def _restart(pack: EvidencePack, *, actor: AbstractBaseUser | None, enqueue: bool) -> None:
    """A failed pack asked for again with its key: queued anew, with a fresh count of attempts."""
    reason = pack.failure_reason
    pack.failure_reason = ""
    pack.attempts = 0
    _requeue(pack, actor=actor, status_payload={"restarted": True, "previous_failure": reason})
    if enqueue:
        _enqueue(pack)


def _set_progress(pack_id: int, attempt: int, percent: int) -> None:
    EvidencePack.objects.filter(pk=pack_id, status=PackStatus.RENDERING, attempts=attempt).update(progress=percent)


def evidence_pack_render(*, pack_id: int) -> EvidencePack:
    """Render a queued pack (or one left rendering by a worker that died). A ready or failed pack is returned
    unchanged, so running this twice never makes a second pack or a second file.

    Each render takes the next attempt number; it completes or fails the pack only if no later render (or the
    stuck-pack sweep) has taken the pack over meanwhile, so a render given up on changes nothing."""
    with transaction.atomic():
        pack = EvidencePack.objects.select_for_update().get(pk=pack_id)
        if pack.status in (PackStatus.READY, PackStatus.FAILED):
            return pack
        pack.status = PackStatus.RENDERING
        pack.started_at = timezone.now()
        pack.progress = 5
        pack.attempts += 1
        pack.save(update_fields=["status", "started_at", "progress", "attempts"])
    attempt = pack.attempts
    try:
        built = build_pack(
            use_case=pack.use_case,
            model_version=pack.model_version,
            pack_number=pack.pk,
            progress=lambda percent: _set_progress(pack.pk, attempt, percent),
        )
    except Exception as error:
        _fail(pack.pk, f"{type(error).__name__}: {error}", attempt=attempt)
        raise
    with transaction.atomic():
        pack = EvidencePack.objects.select_for_update().get(pk=pack_id)
        if pack.status == PackStatus.READY:  # another worker finished first
            return pack
        if pack.status != PackStatus.RENDERING or pack.attempts != attempt:
            logger.warning(
                "Evidence pack #%s: render attempt %s finished after it was given up on (now %s, attempt %s); "
                "its result is discarded.",
                pack.pk,
                attempt,
                pack.status,
                pack.attempts,
            )
            return pack
        pack.file.save(f"evidence-pack-{pack.pk}-{built.sha256[:12]}.pdf", ContentFile(built.pdf), save=False)
        pack.sha256 = built.sha256
        pack.page_count = built.page_count
        pack.checkpoint = built.checkpoint
        pack.checkpoint_tree_size = built.checkpoint.tree_size
        pack.checkpoint_root = built.checkpoint.root_hash_hex
        pack.checkpoint_signature = built.manifest["checkpoint"]["signature"]
        pack.status = PackStatus.READY
        pack.progress = 100
        pack.finished_at = timezone.now()
        pack.save()
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=pack,
            actor_name=SYSTEM,
            payload={
                "status": PackStatus.READY,
                "sha256": built.sha256,
                "page_count": built.page_count,
                "checkpoint_tree_size": built.checkpoint.tree_size,
                "checkpoint_root": built.checkpoint.root_hash_hex,
            },
        )
        return pack


def _fail(pack_id: int, reason: str, *, attempt: int) -> None:
    with transaction.atomic():
        pack = EvidencePack.objects.select_for_update().get(pk=pack_id)
        if pack.status != PackStatus.RENDERING or pack.attempts != attempt:
            return  # finished, failed or taken over meanwhile: this render no longer speaks for the pack
        _mark_failed(pack, reason)


def _mark_failed(pack: EvidencePack, reason: str) -> None:
    pack.status = PackStatus.FAILED
    pack.failure_reason = reason[:2000]
    pack.finished_at = timezone.now()
    pack.save(update_fields=["status", "failure_reason", "finished_at"])
    ledger.append(
        action=LedgerAction.UPDATE,
        obj=pack,
        actor_name=SYSTEM,
        payload={"status": PackStatus.FAILED, "reason": pack.failure_reason},
    )


@dataclass(frozen=True)
class SweptPack:
    pack_id: int
    status: str
    reason: str


def evidence_pack_recover(*, pack_id: int, now: datetime.datetime | None = None) -> SweptPack | None:
    """A pack rendering for longer than ``EVIDENCE_PACK_RENDER_TIMEOUT_S``: requeued while it has renders left
    (``EVIDENCE_PACK_RENDER_ATTEMPTS``), else failed, either recorded in the ledger. None if the pack, looked at
    again under its lock, is no longer stuck (it finished, or a new render started meanwhile)."""
    now = now or timezone.now()
    limit = settings.EVIDENCE_PACK_RENDER_TIMEOUT_S
    with transaction.atomic():
        pack = EvidencePack.objects.select_for_update().get(pk=pack_id)
        if pack.status != PackStatus.RENDERING or pack.started_at is None:
            return None
        if pack.started_at > now - datetime.timedelta(seconds=limit):
            return None
        stalled = (
            f"Render attempt {pack.attempts} did not finish within {limit} s "
            "(its worker was probably stopped or reached its time limit)."
        )
        if pack.attempts >= settings.EVIDENCE_PACK_RENDER_ATTEMPTS:
            reason = f"{stalled} Gave up after {pack.attempts} attempts; request the pack again to restart it."
            _mark_failed(pack, reason)
            return SweptPack(pack_id=pack.pk, status=PackStatus.FAILED, reason=reason)
        _requeue(pack, status_payload={"requeued": True, "reason": stalled, "attempts": pack.attempts})
        _enqueue(pack)
        return SweptPack(pack_id=pack.pk, status=PackStatus.QUEUED, reason=stalled)


def evidence_pack_sweep(*, now: datetime.datetime | None = None) -> list[SweptPack]:
    """Every pack stuck in rendering, requeued or failed (``evidence_pack_recover``); safe to run at any time and
    from several places at once, since each pack is looked at again under its lock."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.EVIDENCE_PACK_RENDER_TIMEOUT_S)
    stuck = EvidencePack.objects.filter(status=PackStatus.RENDERING, started_at__lte=cutoff).order_by("pk")
    outcomes = [evidence_pack_recover(pack_id=pack_id, now=now) for pack_id in stuck.values_list("pk", flat=True)]
    return [outcome for outcome in outcomes if outcome is not None]


def may_download(user: AbstractBaseUser) -> bool:
    """Auditors, Risk Officers and Compliance Reviewers, through their role; being an administrator is not enough."""
    return holds_approval_permission(user, DOWNLOAD_PERMISSION)


def evidence_pack_download(*, pack: EvidencePack, user: AbstractBaseUser) -> bytes:
    """The pack's bytes for ``user``, the download recorded in the ledger; a refusal is recorded too."""
    with denials_recorded(), transaction.atomic():
        if not may_download(user):
            raise ActionDenied(
                "Only Auditors, Risk Officers and Compliance Reviewers may download evidence packs.",
                actor=user,
                attempted="download evidence pack",
                obj=pack,
            )
        if pack.status != PackStatus.READY:
            raise ActionDenied("The pack is not ready.", actor=user, attempted="download evidence pack", obj=pack)
        with pack.file.open("rb") as handle:
            body = handle.read()
        access_record(
            user=user,
            kind=AccessKind.DOWNLOAD,
            obj=pack,
            detail={"sha256": pack.sha256, "format": "pdf"},
        )
        return body


@dataclass(frozen=True)
class Export:
    label: str
    content_type: str
    extension: str
    make: Callable[[PackData], bytes]


def _current_ledger_slice(data: PackData) -> bytes:
    tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    return ledger_jsonl(ledger_slice(data.ledger_refs, up_to=tail))


#: The standalone exports of a model version (the same files a pack embeds, as of now).
EXPORTS: dict[str, Export] = {
    "cyclonedx": Export("CycloneDX 1.6 ML-BOM (JSON)", "application/vnd.cyclonedx+json", "cdx.json", bom_bytes),
    "prov": Export("W3C PROV-JSON", "application/json", "prov.json", provenance_bytes),
    "ledger": Export("Audit ledger slice (JSON Lines)", "application/x-ndjson", "jsonl", _current_ledger_slice),
}


def model_version_export(*, model_version: ModelVersion, kind: str, user: AbstractBaseUser) -> bytes:
    """One standalone export of ``model_version``'s evidence, for the roles that may take evidence away; the
    export is recorded in the ledger (and a refusal too)."""
    export = EXPORTS[kind]
    with denials_recorded(), transaction.atomic():
        if not may_download(user):
            raise ActionDenied(
                "Only Auditors, Risk Officers and Compliance Reviewers may export evidence.",
                actor=user,
                attempted=f"export {kind}",
                obj=model_version,
            )
        body = export.make(collect(use_case=model_version.use_case, model_version=model_version))
        access_record(
            user=user,
            kind=AccessKind.EXPORT,
            obj=model_version,
            detail={"format": kind, "sha256": hashlib.sha256(body).hexdigest()},
        )
        return body
