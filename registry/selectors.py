"""Reads across lineage and the registry: impact analysis and the models a dataset version reached.

Each answer is a handful of queries whatever the size of the graph: the lineage closure is one recursive
query, and runs, model versions and deployments are one query each.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from governance.models import BreakGlassOverride, ThresholdPolicy
from lineage.choices import DatasetVersionState
from lineage.graph import downstream_version_ids, versions_fed_by_sources
from lineage.models import DatasetVersion, SourceSystem
from registry.models import (
    BaseModel,
    ChangeTicket,
    Deployment,
    GateDecision,
    ModelCard,
    ModelVersion,
    TrainingRun,
    TrainingRunDataset,
    ValidationRun,
    ValidationSuite,
)


@dataclass
class Impact:
    """Everything downstream of a source system or a dataset version."""

    dataset_versions: list[DatasetVersion] = field(default_factory=list)
    training_runs: list[TrainingRun] = field(default_factory=list)
    model_versions: list[ModelVersion] = field(default_factory=list)
    live_deployments: list[Deployment] = field(default_factory=list)


def impact_of_versions(version_ids: Iterable[int]) -> Impact:
    """``version_ids`` and everything derived from them, and the runs, models and live deployments they reached."""
    start = {int(pk) for pk in version_ids}
    reached = start | downstream_version_ids(start)
    if not reached:
        return Impact()
    runs = list(
        TrainingRun.objects.filter(dataset_links__dataset_version_id__in=reached)
        .distinct()
        .select_related("use_case")
        .order_by("started_at", "pk")
    )
    models = list(ModelVersion.objects.filter(training_run__in=[run.pk for run in runs]).order_by("name", "number"))
    deployments = list(
        Deployment.objects.filter(current_version__in=[model.pk for model in models])
        .select_related("use_case", "current_version")
        .order_by("use_case_id", "environment")
    )
    return Impact(
        dataset_versions=list(
            DatasetVersion.objects.filter(pk__in=reached).select_related("dataset").order_by("dataset__slug", "number")
        ),
        training_runs=runs,
        model_versions=models,
        live_deployments=deployments,
    )


def impact_of_source(source: SourceSystem) -> Impact:
    return impact_of_versions(versions_fed_by_sources([source.pk]))


def model_versions_on_unapproved_data() -> QuerySet[ModelVersion]:
    """Model versions trained on any dataset version that is no longer approved (revoked, retired): the flag
    the registry shows on models and deployments once their data loses its approval."""
    unapproved = TrainingRunDataset.objects.filter(run=OuterRef("training_run")).exclude(
        dataset_version__state=DatasetVersionState.APPROVED
    )
    return ModelVersion.objects.filter(Exists(unapproved))


def break_glass_override_covers(override: BreakGlassOverride | None, *, record: object, gate: str) -> bool:
    """Whether ``override`` is a recorded break-glass override of ``gate`` for exactly this record: an override
    for another gate or another record lets nothing through."""
    if override is None:
        return False
    return (
        override.object_id == str(record.pk)
        and override.content_type.model_class() is type(record)
        and override.gate == gate
    )


#: Newest first: of two decisions taken in the same instant, the one recorded last.
_LATEST_FIRST = ("-decided_at", "-id")


def _gate_decisions() -> QuerySet[GateDecision]:
    """Gate decisions with what their readers name: the suite version and the threshold revision."""
    return GateDecision.objects.select_related("suite", "threshold_policy")


def latest_gate_decision(model_version: ModelVersion) -> GateDecision | None:
    """The decision that counts for ``model_version`` now (its latest), or None before any; one query."""
    return _gate_decisions().filter(model_version=model_version).order_by(*_LATEST_FIRST).first()


def latest_gate_decisions(model_versions: Iterable[ModelVersion | int]) -> dict[int, GateDecision]:
    """Version id -> its latest gate decision (versions without one are absent), for any number of versions in one
    query that reads one decision per version however many each has."""
    ids = {getattr(version, "pk", version) for version in model_versions}
    if not ids:
        return {}
    latest = GateDecision.objects.filter(model_version=OuterRef("model_version")).order_by(*_LATEST_FIRST)
    decisions = _gate_decisions().filter(model_version_id__in=ids, pk=Subquery(latest.values("pk")[:1]))
    return {decision.model_version_id: decision for decision in decisions}


def model_version_evidence(model_version: ModelVersion) -> dict[type[models.Model], list[object]]:
    """The governed records a model version's promotion rests on (model -> primary keys): the version, its
    training run, base model and dataset versions, its validation runs and their suites, its gate decisions and
    the threshold revisions they were judged by, its change tickets and model cards. Five queries."""
    gates = list(model_version.gate_decisions.values_list("pk", "threshold_policy_id", "suite_id", "validation_run_id"))
    runs = list(model_version.validation_runs.values_list("pk", "suite_id"))
    return {
        ModelVersion: [model_version.pk],
        TrainingRun: [model_version.training_run_id],
        BaseModel: list(
            TrainingRun.objects.filter(pk=model_version.training_run_id).values_list("base_model_id", flat=True)
        ),
        DatasetVersion: list(
            TrainingRunDataset.objects.filter(run_id=model_version.training_run_id).values_list(
                "dataset_version_id", flat=True
            )
        ),
        ValidationRun: [pk for pk, _suite in runs] + [gate[3] for gate in gates],
        ValidationSuite: [suite for _pk, suite in runs] + [gate[2] for gate in gates],
        GateDecision: [gate[0] for gate in gates],
        ThresholdPolicy: [gate[1] for gate in gates],
        ChangeTicket: list(model_version.tickets.values_list("pk", flat=True)),
        ModelCard: list(model_version.cards.values_list("pk", flat=True)),
    }
