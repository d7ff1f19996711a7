"""Contradictions between a model version's provenance records, found automatically and resolved by people.

Recording provenance is half the job; the other half is noticing when records disagree. The checks here compare
what one record claims with what another shows, and raise a ``ProvenanceFlag`` with the evidence of both sides:

* **a self-reported metric contradicted**: the training run reports a pass rate for an evaluation dimension
  (``metrics`` key ``<dimension>_pass_rate`` or the dimension's own name, in %) that the latest gate decision's
  figure for that dimension differs from by more than ``METRIC_TOLERANCE`` points (high: the run's claims cannot be
  trusted);
* **an unexplained regression**: a dimension's pass rate fell against the version this one replaced in production
  (or, before it ever reached production, the previous version of the model) while the run's decision log names
  neither the dimension nor its label (medium);
* **the same weights claimed twice**: another run reports the same output weights digest with different training
  data or configuration (high: one of them is not what it says).

* and, in ``registry.services.provenance_records``: production monitoring far from validation (high), a dataset
  version's declared rows or bytes against its pipeline's report (medium, a flag of the dataset version), and a
  model card's "what changed" against the recorded differences (medium).

A check run again raises a contradiction once (a flag per version, kind and subject). A person resolves a flag with a
note; a high one needs a second person to confirm (maker-checker), and until then blocks promotion to production.
Checks run nightly (Celery beat), from ``manage.py provenance_check``, and after the records they compare change:
a gate decision, a monitoring summary (posted or rolled up), a model card revision, and an OpenLineage run that
completes with a dataset version.
"""

from decimal import Decimal, InvalidOperation
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import holds_approval_permission
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from lineage.models import DatasetVersion
from registry.choices import ProvenanceFlagKind, ProvenanceFlagSeverity, ProvenanceFlagState
from registry.comparison import compare_model_versions, predecessor
from registry.models import GateDecision, ModelVersion, ProvenanceFlag, TrainingRun
from registry.selectors import latest_gate_decision
from registry.services.provenance_records import (
    card_contradictions,
    dataset_statistics_differences,
    monitoring_divergences,
    record_ref,
)
from registry.tasks import check_dataset_version_provenance

#: How far (percentage points) a run's self-reported pass rate may be from the validated one.
METRIC_TOLERANCE = Decimal("2.0")
CHECKER = "system:provenance-checks"
RESOLVE = "registry.resolve_provenanceflag"
MIN_NOTE_CHARS = 20
OPEN_STATES = (ProvenanceFlagState.OPEN, ProvenanceFlagState.RESOLUTION_PROPOSED)


def _number(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        return None


def _metric_contradictions(version: ModelVersion, gate: GateDecision) -> list[dict]:
    metrics = version.training_run.metrics or {}
    found = []
    for dimension, figure in sorted(gate.figures.items()):
        claimed = _number(metrics.get(f"{dimension}_pass_rate", metrics.get(dimension)))
        validated = _number(figure.get("pass_rate"))
        if claimed is None or validated is None or abs(claimed - validated) <= METRIC_TOLERANCE:
            continue
        found.append(
            {
                "kind": ProvenanceFlagKind.METRIC_CONTRADICTED,
                "severity": ProvenanceFlagSeverity.HIGH,
                "subject": dimension,
                "summary": f"Training run {version.training_run.run_id} reports {claimed}% on {figure['label']}; "
                f"the validation run behind the latest gate decision measured {validated}%.",
                "evidence": {
                    "self_reported": str(claimed),
                    "validated": str(validated),
                    "tolerance": str(METRIC_TOLERANCE),
                    "records": [record_ref(version.training_run), record_ref(gate)],
                },
            }
        )
    return found


def _regressions(version: ModelVersion) -> list[dict]:
    previous = predecessor(version)
    if previous is None:
        return []
    log = version.training_run.decision_log.lower()
    found = []
    for figure in compare_model_versions(previous, version).gate:
        if figure.regressed and str(figure.dimension).lower() not in log:
            found.append(
                {
                    "kind": ProvenanceFlagKind.UNEXPLAINED_REGRESSION,
                    "severity": ProvenanceFlagSeverity.MEDIUM,
                    "subject": str(figure.dimension),
                    "summary": f"{figure.dimension} fell from {figure.before}% in {previous} to {figure.after}% "
                    f"({figure.delta} points) and the decision log of {version.training_run.run_id} does not say why.",
                    "evidence": {
                        "before": figure.before,
                        "after": figure.after,
                        "delta": figure.delta,
                        "records": [record_ref(previous), record_ref(version)],
                    },
                    "other_model_version": previous,
                }
            )
    return found


def _weights_reused(version: ModelVersion) -> list[dict]:
    run = version.training_run
    if not run.output_weights_digest:
        return []
    data = sorted(run.dataset_links.values_list("content_digest", flat=True))
    found = []
    others = TrainingRun.objects.filter(output_weights_digest=run.output_weights_digest).exclude(pk=run.pk)
    for other in others.select_related("model_version").prefetch_related("dataset_links"):
        other_data = sorted(link.content_digest for link in other.dataset_links.all())
        if other_data == data and other.config_hash == run.config_hash:
            continue  # a rerun that reproduced the weights exactly: what reproducibility looks like
        found.append(
            {
                "kind": ProvenanceFlagKind.WEIGHTS_REUSED,
                "severity": ProvenanceFlagSeverity.HIGH,
                "subject": f"{run.output_weights_digest[:16]} / {other.run_id}",
                "summary": f"Training runs {run.run_id} and {other.run_id} both claim the output weights "
                f"{run.output_weights_digest} but differ in "
                + " and ".join(
                    part
                    for part, differs in (
                        ("training data", other_data != data),
                        ("configuration", other.config_hash != run.config_hash),
                    )
                    if differs
                )
                + ".",
                "evidence": {
                    "weights_digest": run.output_weights_digest,
                    "other_run": other.run_id,
                    "records": [record_ref(run), record_ref(other)],
                },
                "other_model_version": getattr(other, "model_version", None),
            }
        )
    return found


def provenance_flags_refresh(*, model_version: ModelVersion) -> list[ProvenanceFlag]:
    """Run every check on ``model_version``; the flags newly raised (one already raised is not raised again)."""
    with transaction.atomic(), acting_as(actor_name=CHECKER):
        version = ModelVersion.objects.select_related("training_run").get(pk=model_version.pk)
        gate = latest_gate_decision(version)
        findings = [
            *(_metric_contradictions(version, gate) if gate else []),
            *_regressions(version),
            *_weights_reused(version),
            *monitoring_divergences(version, gate),
            *card_contradictions(version),
        ]
        return _raise(findings, model_version=version)


def dataset_version_flags_refresh(*, dataset_version: DatasetVersion) -> list[ProvenanceFlag]:
    """Run the dataset version's checks (its declared statistics against its pipeline's); the flags newly raised."""
    with transaction.atomic(), acting_as(actor_name=CHECKER):
        version = DatasetVersion.objects.select_related("dataset").get(pk=dataset_version.pk)
        return _raise(dataset_statistics_differences(version), dataset_version=version)


def check_after_openlineage_run(*, dataset_versions: list[DatasetVersion], **kwargs: object) -> None:
    """Receives lineage's ``run_completed``: the versions the run reported are checked once the event commits."""
    for version in dataset_versions:
        transaction.on_commit(partial(check_dataset_version_provenance.delay, version.pk), robust=True)


def _raise(findings: list[dict], **flagged: object) -> list[ProvenanceFlag]:
    raised = []
    for finding in findings:
        flag, created = ProvenanceFlag.objects.get_or_create(
            **flagged, kind=finding.pop("kind"), subject=finding.pop("subject")[:200], defaults=finding
        )
        if created:
            raised.append(flag)
    return raised


def open_flags(model_version: ModelVersion) -> list[ProvenanceFlag]:
    return list(model_version.flags.filter(state__in=OPEN_STATES).order_by("-severity", "raised_at"))


def blocking_flags(model_version: ModelVersion) -> list[ProvenanceFlag]:
    """The unresolved high flags that keep the version out of production."""
    return [flag for flag in open_flags(model_version) if flag.severity == ProvenanceFlagSeverity.HIGH]


def provenance_flag_resolve(*, flag: ProvenanceFlag, actor: AbstractBaseUser, note: str) -> ProvenanceFlag:
    """Resolve a flag with a note. A high flag is resolved by two people: the first proposes the resolution, a
    second confirms it (and may not be the first)."""
    attempted = "provenance_flag_resolve"
    note = note.strip()
    if len(note) < MIN_NOTE_CHARS:
        raise ValidationError(
            {"note": f"Say how the contradiction was resolved (at least {MIN_NOTE_CHARS} characters)."}
        )
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = ProvenanceFlag.objects.select_for_update().get(pk=flag.pk)
        if not holds_approval_permission(actor, RESOLVE):
            raise ActionDenied(
                "Only a Risk Officer may resolve a provenance flag.", actor=actor, attempted=attempted, obj=locked
            )
        if locked.state == ProvenanceFlagState.RESOLVED:
            raise ActionDenied("This flag is already resolved.", actor=actor, attempted=attempted, obj=locked)
        if locked.state == ProvenanceFlagState.RESOLUTION_PROPOSED and locked.proposed_by_id == actor.pk:
            raise ActionDenied(
                "A second person confirms the resolution of a high flag; you proposed it.",
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        if locked.severity == ProvenanceFlagSeverity.HIGH and locked.state == ProvenanceFlagState.OPEN:
            locked.propose_resolution()
            locked.proposed_by = actor
            locked.resolution_note = note
        else:
            locked.resolve()
            locked.resolved_by = actor
            locked.resolved_at = timezone.now()
            locked.resolution_note = f"{locked.resolution_note}\n{note}".strip() if locked.proposed_by_id else note
        locked.save()
        return locked
