"""Reading everything a pack covers, once, into plain data the template and the attachments are made from."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from governance.canonical import model_label
from governance.models import LedgerCheckpoint, LedgerEntry, RequirementsDocument, UseCase
from governance.overrides import overrides_for
from governance.signatures import signatures_for
from lineage.models import DatasetVersion
from registry.models import (
    ChangeTicket,
    Deployment,
    GateDecision,
    Incident,
    ModelCard,
    ModelVersion,
    MonitoringSummary,
    TrainingRun,
    ValidationRun,
)

#: The pack's table of contents, in the playbook's order: (anchor, title). Tests and the control map use them.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("executive-summary", "Executive summary"),
    ("use-case", "Use case and requirements"),
    ("raci", "RACI"),
    ("datasets", "Dataset lineage and consent"),
    ("training", "Training and experiment logs"),
    ("validation", "Validation suites and results"),
    ("model-card", "Model card"),
    ("change-tickets", "Change tickets and approvals"),
    ("deployments", "Deployments, rollbacks and incidents"),
    ("monitoring", "Monitoring summaries"),
    ("control-mapping", "Control mapping"),
    ("audit-trail", "Audit-trail summary"),
    ("integrity", "Integrity and verification"),
)

#: Where in the pack the evidence for each framework's requirement is: (framework, requirement, section anchors).
CONTROL_MAP: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("SOC 2", "CC6.1 Logical access", ("audit-trail", "integrity")),
    ("SOC 2", "CC7.2 System monitoring", ("monitoring", "deployments")),
    ("SOC 2", "CC8.1 Change management", ("change-tickets", "deployments")),
    ("NIST AI RMF", "GOVERN 1 Policies and accountability", ("use-case", "raci")),
    ("NIST AI RMF", "MAP 1 Context and intended use", ("use-case", "model-card")),
    ("NIST AI RMF", "MEASURE 2 Evaluation", ("validation",)),
    ("NIST AI RMF", "MANAGE 4 Incident response", ("deployments", "monitoring")),
    ("EU AI Act", "Art. 10 Data and data governance", ("datasets",)),
    ("EU AI Act", "Art. 11 Technical documentation", ("training", "model-card")),
    ("EU AI Act", "Art. 12 Record-keeping", ("audit-trail", "integrity")),
    ("EU AI Act", "Art. 14 Human oversight", ("validation", "change-tickets")),
    ("EU AI Act", "Art. 15 Accuracy, robustness", ("validation",)),
    ("GDPR", "Art. 5/6 Lawfulness, retention", ("datasets",)),
    ("21 CFR Part 11", "11.50 Signature manifestations", ("datasets", "change-tickets", "integrity")),
)


@dataclass
class Signed:
    """A record with its signatures, each with whether it still holds (invalidated ones are shown so)."""

    record: models.Model
    signatures: list[tuple[Any, bool]]


@dataclass
class PackData:
    use_case: UseCase
    model_versions: list[ModelVersion]
    subject: ModelVersion | None
    requirements: Signed | None
    constraints: list[Any]
    raci: Any
    raci_signatures: list[tuple[Any, bool]]
    thresholds: Any
    datasets: list[Signed]
    runs: list[TrainingRun]
    validation_runs: list[ValidationRun]
    gates: list[Signed]
    cards: list[ModelCard]
    tickets: list[Signed]
    deployments: list[Deployment]
    deployment_events: list[Any]
    incidents: list[Incident]
    monitoring: list[MonitoringSummary]
    overrides: list[Any]
    ledger_refs: set[tuple[str, str]] = field(default_factory=set)

    @property
    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents if i.state in ("draft", "open", "contained")]

    @property
    def latest_gate(self) -> GateDecision | None:
        return self.gates[0].record if self.gates else None


def _refs(objects: Iterable[models.Model]) -> set[tuple[str, str]]:
    return {(model_label(obj), str(obj.pk)) for obj in objects}


def collect(*, use_case: UseCase, model_version: ModelVersion | None = None) -> PackData:
    """Everything about ``model_version`` (or, without it, about every model version of ``use_case``)."""
    if model_version is not None:
        versions = [model_version]
    else:
        versions = list(ModelVersion.objects.filter(use_case=use_case).select_related("training_run"))
    version_ids = [v.pk for v in versions]
    runs = list(
        TrainingRun.objects.filter(model_version__in=version_ids).select_related("base_model").order_by("started_at")
    )
    dataset_versions = list(
        DatasetVersion.objects.filter(training_runs__in=runs)
        .distinct()
        .select_related("dataset", "lineage")
        .order_by("dataset__slug", "number")
    )
    requirements = (
        RequirementsDocument.objects.filter(use_case=use_case, state="approved").first()
        or RequirementsDocument.objects.filter(use_case=use_case).order_by("-version").first()
    )
    constraints = (
        list(requirements.constraints.prefetch_related("policies__controls__framework")) if requirements else []
    )
    raci = use_case.raci_revisions.filter(state="effective").prefetch_related("assignments").first()
    thresholds = use_case.threshold_revisions.filter(state="effective").prefetch_related("rules").first()
    validation_runs = list(
        ValidationRun.objects.filter(model_version__in=version_ids).select_related("suite", "model_version")
    )
    gates = list(
        GateDecision.objects.filter(model_version__in=version_ids).select_related(
            "model_version", "threshold_policy", "human_reviewer"
        )
    )
    cards = list(ModelCard.objects.filter(model_version__in=version_ids).select_related("model_version"))
    tickets = list(
        ChangeTicket.objects.filter(model_version__in=version_ids).select_related("model_version", "requested_by")
    )
    deployments = list(Deployment.objects.filter(use_case=use_case).select_related("current_version"))
    events = [
        event
        for deployment in deployments
        for event in deployment.events.select_related("model_version", "replaced_version", "actor")
        if model_version is None or model_version.pk in (event.model_version_id, event.replaced_version_id)
    ]
    incidents = list(
        Incident.objects.filter(model_version__in=version_ids)
        if model_version is not None
        else Incident.objects.filter(use_case=use_case)
    )
    monitoring = list(MonitoringSummary.objects.filter(model_version__in=version_ids).select_related("deployment")[:50])
    lineage_records = [dv.lineage for dv in dataset_versions if hasattr(dv, "lineage")]
    governed: list[models.Model] = [
        use_case,
        *versions,
        *runs,
        *dataset_versions,
        *lineage_records,
        *validation_runs,
        *gates,
        *cards,
        *tickets,
        *deployments,
        *incidents,
        *monitoring,
    ]
    if requirements:
        governed += [requirements, *constraints]
    if raci:
        governed.append(raci)
    if thresholds:
        governed.append(thresholds)
    for record in lineage_records:
        governed += [*record.sources.all(), *record.steps.all()]
    overrides = [o for record in governed for o in overrides_for(record)]
    return PackData(
        use_case=use_case,
        model_versions=versions,
        subject=model_version,
        requirements=Signed(requirements, signatures_for(requirements)) if requirements else None,
        constraints=constraints,
        raci=raci,
        raci_signatures=signatures_for(raci) if raci else [],
        thresholds=thresholds,
        datasets=[Signed(dv, signatures_for(dv)) for dv in dataset_versions],
        runs=runs,
        validation_runs=validation_runs,
        gates=[Signed(g, signatures_for(g)) for g in gates],
        cards=cards,
        tickets=[Signed(t, signatures_for(t)) for t in tickets],
        deployments=deployments,
        deployment_events=events,
        incidents=incidents,
        monitoring=monitoring,
        overrides=overrides,
        ledger_refs=_refs(governed),
    )


def ledger_slice(refs: set[tuple[str, str]], *, up_to: int) -> list[LedgerEntry]:
    """The ledger entries about the scope's records, up to the checkpoint's tree size, in sequence order."""
    by_type: dict[str, list[str]] = {}
    for object_type, object_id in refs:
        by_type.setdefault(object_type, []).append(object_id)
    query = models.Q()
    for object_type, ids in by_type.items():
        query |= models.Q(object_type=object_type, object_id__in=ids)
    if not by_type:
        return []
    return list(LedgerEntry.objects.filter(query, sequence__lte=up_to).order_by("sequence"))


def latest_checkpoint() -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.order_by("-tree_size").first()
