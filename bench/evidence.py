"""Evidence pack of the demo's largest model version, scaled up: ~20 dataset versions, ~2,000 validation results
and ~10,000 ledger entries in scope.

``evidence_pack_seconds``: building the pack (collect, attachments with Merkle proofs, render).
``evidence_pack_overhead_ratio``: that time over WeasyPrint's own time for the same HTML (target under 1.15).
``evidence_pack_sign_seconds``: the PAdES document signature alone (part of the build), and its share of the build.
``offline_verify_seconds``: the standalone verifier's offline checks of that pack (``evidence_pack_verifier``: document
signature, embedded files, checkpoint signature, hash chain, every inclusion proof) against the published keys (target
at most 2 s), and that time over the pack's build.
``evidence_pack_pages`` and ``evidence_pack_pages_100k``: the page count with ~10,000 and with ~100,000 ledger
entries in scope; the pages summarise, so the two must be equal.
"""

import hashlib
import time
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone
from evidence_pack_verifier import trust, verify

from audit import audit_context
from audit.canonical import canonical_bytes, model_label, to_jsonable
from audit.ledger import GENESIS_HASH, chain_hash, entry_document
from audit.models import LedgerEntry
from audit.verification_keys import published
from bench.registry import column_values, seed_demo
from bench.timing import median_ms
from evidence import builder, signing
from lineage.models import DatasetVersion, LineageRecord, LineageSource
from registry.models import ModelVersion, TrainingRunDataset, ValidationSuite
from registry.services.validation import ResultInput, validation_run_record

DATASET_VERSIONS = 20
RESULTS = 2_000
LEDGER_IN_SCOPE = 10_000
LEDGER_LARGE = 100_000


@transaction.atomic
def more_training_data(model: ModelVersion) -> None:
    """Copies of the model's approved dataset version linked to its run, up to ``DATASET_VERSIONS`` in all. Written
    around the services (a plain QuerySet): acceptable only in this throw-away benchmark database."""
    link = model.training_run.dataset_links.select_related("dataset_version").order_by("pk").first()
    original = link.dataset_version
    record = LineageRecord.objects.get(version=original)
    sources = list(LineageSource.objects.filter(record=record))
    top = DatasetVersion.objects.filter(dataset_id=original.dataset_id).aggregate(models.Max("number"))["number__max"]
    for offset in range(1, DATASET_VERSIONS - model.training_run.dataset_links.count() + 1):
        [copy] = models.QuerySet(model=DatasetVersion).bulk_create(
            [
                DatasetVersion(
                    **{
                        **column_values(original),
                        "number": top + offset,
                        # One version per content (a unique constraint): each copy stands for new data.
                        "content_digest": hashlib.sha256(
                            f"{original.content_digest}+{model.pk}+{offset}".encode()
                        ).hexdigest(),
                    }
                )
            ]
        )
        [copied_record] = models.QuerySet(model=LineageRecord).bulk_create(
            [LineageRecord(**{**column_values(record), "version_id": copy.pk})]
        )
        models.QuerySet(model=LineageSource).bulk_create(
            [LineageSource(**{**column_values(source), "record_id": copied_record.pk}) for source in sources]
        )
        TrainingRunDataset.objects.create(
            run=model.training_run, dataset_version=copy, content_digest=copy.content_digest
        )


def more_results(model: ModelVersion, count: int = RESULTS) -> None:
    suite = ValidationSuite.objects.get(slug="billing-assistant", version=1)
    cases = list(suite.cases.values_list("key", "category"))
    per_case = count // len(cases)
    results = [
        ResultInput(case=key, attempt=n, outcome="pass", human_reviewer="risk2" if category == "human_review" else "")
        for key, category in cases
        for n in range(1, per_case + 1)
    ]
    engineer = get_user_model().objects.get(username="mleng")
    validation_run_record(model_version=model, suite=suite, actor=engineer, results=results, started_at=timezone.now())


@transaction.atomic
def more_ledger(model: ModelVersion, count: int) -> None:
    """``count`` chained entries about the model version, hashed exactly as ``audit.ledger.append`` hashes
    them but inserted in batches (appending one by one would take minutes)."""
    tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", "entry_hash").first()
    sequence, prev_hash = (tail[0], bytes(tail[1])) if tail else (0, GENESIS_HASH)
    batch: list[LedgerEntry] = []
    for n in range(count):
        sequence += 1
        recorded_at = timezone.now()
        document = entry_document(
            sequence=sequence,
            recorded_at=recorded_at,
            actor_id=None,
            actor_name=audit_context.describe_actor(None, "system:monitoring"),
            action="view",
            object_type=model_label(model),
            object_id=str(model.pk),
            object_label=model.identifier,
            request_id="",
            payload=to_jsonable({"served_requests": n}),
        )
        canonical = canonical_bytes(document)
        entry_hash = chain_hash(prev_hash, canonical)
        batch.append(
            LedgerEntry(
                sequence=sequence,
                recorded_at=recorded_at,
                actor_id=None,
                actor_name=document["actor_name"],
                action="view",
                object_type=document["object_type"],
                object_id=document["object_id"],
                object_label=document["object_label"],
                request_id="",
                canonical=canonical,
                prev_hash=prev_hash,
                entry_hash=entry_hash,
            )
        )
        prev_hash = entry_hash
        if len(batch) == 5_000:
            LedgerEntry.objects.bulk_create(batch)
            batch = []
    LedgerEntry.objects.bulk_create(batch)


def build(model: ModelVersion) -> tuple[float, float, float, builder.BuiltPack]:
    """(total seconds, WeasyPrint's seconds, the document signature's seconds, the pack) of one pack."""
    rendering: list[float] = []
    signing_time: list[float] = []
    render_pdf, sign_pack = builder.render_pdf, signing.sign_pack

    def timed(function, into: list[float]):
        def run(*args: object, **kwargs: object):
            started = time.perf_counter()
            result = function(*args, **kwargs)
            into.append(time.perf_counter() - started)
            return result

        return run

    builder.render_pdf, signing.sign_pack = timed(render_pdf, rendering), timed(sign_pack, signing_time)
    try:
        started = time.perf_counter()
        pack = builder.build_pack(use_case=model.use_case, model_version=model, pack_number="bench")
        total = time.perf_counter() - started
    finally:
        builder.render_pdf, signing.sign_pack = render_pdf, sign_pack
    return total, rendering[0], signing_time[0], pack


def offline_verify_seconds(pdf: bytes) -> float:
    """The median time of the standalone verifier's checks of ``pdf``, trusting the published keys."""
    trusted = trust.parse(published())

    def check() -> None:
        report, _pack = verify(pdf, trusted)
        if not report.ok:
            raise RuntimeError(f"The benchmark's pack does not verify: {report.failure}")

    milliseconds, _result = median_ms(check, warmup=1, runs=3)
    return milliseconds / 1_000


def run() -> Iterator[tuple[str, float, str]]:
    if not ModelVersion.objects.exists():
        seed_demo()
    model = ModelVersion.objects.select_related("use_case", "training_run").get(name="support-assistant", number=1)
    more_training_data(model)
    more_results(model)
    in_scope = LedgerEntry.objects.filter(object_type=model_label(model), object_id=str(model.pk)).count()
    more_ledger(model, max(0, LEDGER_IN_SCOPE - in_scope))
    build(model)  # warm-up: templates, fonts
    seconds, rendering, signing_seconds, pack = build(model)
    yield "evidence_pack_seconds", seconds, "s"
    yield "evidence_pack_overhead_ratio", seconds / rendering, "ratio"
    yield "evidence_pack_sign_seconds", signing_seconds, "s"
    yield "evidence_pack_sign_ratio", signing_seconds / seconds, "ratio"
    verifying = offline_verify_seconds(pack.pdf)
    yield "offline_verify_seconds", verifying, "s"
    yield "offline_verify_ratio", verifying / seconds, "ratio"
    yield "evidence_pack_pages", float(pack.page_count), "pages"
    more_ledger(model, LEDGER_LARGE - LEDGER_IN_SCOPE)
    _seconds, _rendering, _signing, large = build(model)
    yield "evidence_pack_pages_100k", float(large.page_count), "pages"
