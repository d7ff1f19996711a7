"""Reading everything a pack covers, once, into plain data the template and the attachments are made from."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import EmptyResultSet
from django.db import connection, models

from accounts.selectors import role_holders_at
from audit.canonical import model_label, record_digest
from audit.choices import LedgerAction
from audit.models import LedgerCheckpoint, LedgerEntry, Signature
from governance.choices import RequirementsState, RevisionState
from governance.models import (
    BreakGlassOverride,
    Control,
    Document,
    RaciMatrix,
    RequirementsDocument,
    ThresholdPolicy,
    UseCase,
)
from lineage.completeness import Completeness
from lineage.models import DatasetVersion, LineageSource
from registry.choices import ChangeTicketState, DeploymentEventKind, IncidentState
from registry.comparison import Comparison, compare_model_versions, replaced_in_production
from registry.completeness import model_versions_completeness
from registry.models import (
    ChangeTicket,
    Deployment,
    DeploymentEvent,
    GateDecision,
    Incident,
    ModelCard,
    ModelVersion,
    MonitoringSummary,
    TrainingRun,
    TrainingRunDataset,
    ValidationCase,
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
    """A record with its signatures, each with whether it still holds (invalidated ones are shown so), and what
    the pages show beside them: the documents attached to it, and for a refused or withdrawn change ticket who
    closed it and when (the ledger's transition entry: the ticket itself keeps only the reason)."""

    record: models.Model
    signatures: list[tuple[Any, bool]]
    documents: list[Document] = field(default_factory=list)
    closed_by: str = ""
    closed_at: Any = None


@dataclass
class RoleHolding:
    """Who held each role while some of the pack's signatures were made: one entry per distinct set of holders,
    so the page stays short however many signatures the pack has."""

    first_signed_at: Any
    last_signed_at: Any
    signature_count: int
    holders: list[tuple[str, tuple[str, ...]]]


@dataclass
class SuiteDefinition:
    """What a validation suite version tests: its cases counted per evaluation dimension and category."""

    suite: Any
    case_count: int
    #: (dimension label, category label, cases), in dimension then category order.
    counts: list[tuple[str, str, int]]


@dataclass
class PackData:
    use_case: UseCase
    model_versions: list[ModelVersion]
    subject: ModelVersion | None
    requirements: Signed | None
    constraints: list[Any]
    raci: Any
    raci_signatures: list[tuple[Any, bool]]
    #: The threshold revisions the gates used and the one in effect now, each with its signatures.
    thresholds: list[Signed]
    datasets: list[Signed]
    runs: list[TrainingRun]
    validation_runs: list[ValidationRun]
    gates: list[Signed]
    cards: list[ModelCard]
    tickets: list[Signed]
    deployments: list[Deployment]
    #: What each environment served when: every change of the deployments in scope, oldest first.
    deployment_events: list[Any]
    incidents: list[Incident]
    monitoring: list[MonitoringSummary]
    overrides: list[Any]
    ledger_refs: set[tuple[str, str]] = field(default_factory=set)
    role_holdings: list[RoleHolding] = field(default_factory=list)
    #: The RACI revisions in force when the pack's signatures were made (and the one in force now), oldest first.
    raci_revisions: list[Signed] = field(default_factory=list)
    #: Signature primary key -> the RACI revision in force when it was made (absent: none was).
    raci_in_force: dict[int, Any] = field(default_factory=dict)
    suites: list[SuiteDefinition] = field(default_factory=list)
    monitoring_total: int = 0
    #: A model version's pack: what changed since the version it replaced in production (None: it replaced none).
    comparison: Comparison | None = None
    #: Each model version's provenance completeness (its facts and those of everything it was built from).
    provenance: list[Completeness] = field(default_factory=list)

    @property
    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents if i.state in OPEN_INCIDENT_STATES]

    @property
    def latest_gate(self) -> GateDecision | None:
        return self.gates[0].record if self.gates else None


OPEN_INCIDENT_STATES = (IncidentState.DRAFT, IncidentState.OPEN, IncidentState.CONTAINED)
#: The deployment events that change which version an environment serves.
SERVING_CHANGES = (DeploymentEventKind.DEPLOY, DeploymentEventKind.ROLLBACK)


def _refs(objects: Iterable[models.Model]) -> set[tuple[str, str]]:
    return {(model_label(obj), str(obj.pk)) for obj in objects}


def _by_record(records: Sequence[models.Model]) -> models.Q:
    """Rows of a generic-relation table (signatures, overrides) that point at any of ``records``: one condition
    per content type, so the rows of a whole pack come in one query instead of one query per record."""
    ids: dict[int, set[str]] = {}
    for record in records:
        ids.setdefault(ContentType.objects.get_for_model(record).pk, set()).add(str(record.pk))
    query = models.Q(pk__in=[])
    for content_type_id, object_ids in ids.items():
        query |= models.Q(content_type_id=content_type_id, object_id__in=sorted(object_ids))
    return query


def _grouped(rows: Iterable[Any]) -> dict[tuple[int, str], list[Any]]:
    """Rows of a generic-relation table by the record they point at, each list in the query's order."""
    groups: dict[tuple[int, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.content_type_id, row.object_id), []).append(row)
    return groups


def record_key(record: models.Model) -> tuple[int, str]:
    """(content type id, object id): how signatures and overrides point at a record."""
    return ContentType.objects.get_for_model(record).pk, str(record.pk)


def overrides_of(records: Sequence[models.Model]) -> list[BreakGlassOverride]:
    """``governance.services.overrides.overrides_for`` of every record, in the records' order, in one query."""
    found = _grouped(
        BreakGlassOverride.objects.filter(_by_record(records)).select_related(
            "requested_by", "approved_by", "approval_signature"
        )
    )
    return [override for record in records for override in found.get(record_key(record), [])]


def signatures_of(records: Sequence[models.Model]) -> dict[tuple[int, str], list[tuple[Signature, bool]]]:
    """``audit.signatures.signatures_for`` of every record (newest first, each with whether it still holds),
    by ``record_key``, in one query. A record's digest is computed only if it has signatures: it is what they
    are checked against, and for some records computing it takes queries of its own."""
    found = _grouped(Signature.objects.filter(_by_record(records)).select_related("signer"))
    result = {}
    for record in records:
        signatures = found.get(record_key(record), [])
        current = record_digest(record) if signatures else None
        result[record_key(record)] = [(signature, signature.record_digest == current) for signature in signatures]
    return result


def collect(*, use_case: UseCase, model_version: ModelVersion | None = None) -> PackData:
    """Everything about ``model_version`` (or, without it, about every model version of ``use_case``).

    Related rows the pages and the attachments show are fetched here with the records (``select_related``,
    ``prefetch_related``), so rendering makes no queries of its own: a pack costs a fixed number of queries,
    whatever the number of dataset versions, runs and signatures in scope.
    """
    if model_version is not None:
        versions = [model_version]
    else:
        versions = list(ModelVersion.objects.filter(use_case=use_case).select_related("training_run", "registered_by"))
    version_ids = [v.pk for v in versions]
    runs = list(
        TrainingRun.objects.filter(model_version__in=version_ids)
        .select_related("base_model", "registered_by")
        .prefetch_related(
            models.Prefetch(
                "dataset_links",
                queryset=TrainingRunDataset.objects.select_related("dataset_version__dataset"),
            ),
            models.Prefetch("dataset_versions", queryset=DatasetVersion.objects.select_related("dataset")),
        )
        .order_by("started_at")
    )
    dataset_versions = list(
        DatasetVersion.objects.filter(training_runs__in=runs)
        .distinct()
        .select_related("dataset", "lineage")
        .prefetch_related(
            models.Prefetch("lineage__sources", queryset=LineageSource.objects.select_related("source_system")),
            "lineage__steps",
        )
        .order_by("dataset__slug", "number")
    )
    documents = RequirementsDocument.objects.filter(use_case=use_case).select_related("use_case")
    requirements = documents.filter(state=RequirementsState.APPROVED).first() or documents.order_by("-version").first()
    constraints = (
        list(
            requirements.constraints.prefetch_related(
                models.Prefetch("policies__controls", queryset=Control.objects.select_related("framework"))
            )
        )
        if requirements
        else []
    )
    raci_revisions = list(
        use_case.raci_revisions.filter(state__in=(RevisionState.EFFECTIVE, RevisionState.SUPERSEDED))
        .exclude(decided_at=None)
        .prefetch_related("assignments")
        .order_by("decided_at", "pk")
    )
    raci = next((revision for revision in raci_revisions if revision.state == RevisionState.EFFECTIVE), None)
    validation_runs = list(
        ValidationRun.objects.filter(model_version__in=version_ids).select_related("suite", "model_version")
    )
    gates = list(
        GateDecision.objects.filter(model_version__in=version_ids).select_related(
            "model_version", "threshold_policy", "human_reviewer", "suite"
        )
    )
    thresholds = _thresholds_in_force(use_case, gates)
    suites = suite_definitions({run.suite for run in validation_runs} | {gate.suite for gate in gates})
    cards = list(ModelCard.objects.filter(model_version__in=version_ids).select_related("model_version"))
    tickets = list(
        ChangeTicket.objects.filter(model_version__in=version_ids).select_related("model_version", "requested_by")
    )
    deployments = list(
        Deployment.objects.filter(use_case=use_case).select_related("current_version", "previous_stable_version")
    )
    all_events = list(
        DeploymentEvent.objects.filter(deployment__in=deployments)
        .select_related("deployment", "model_version", "replaced_version", "actor", "change_ticket", "override")
        .order_by("happened_at", "pk")
    )
    if model_version is None:
        events = all_events
    else:
        events = [e for e in all_events if model_version.pk in (e.model_version_id, e.replaced_version_id)]
    incidents = incidents_in_scope(
        use_case=use_case, version_ids=version_ids, events=events, all_events=all_events, deployments=deployments
    )
    monitoring_rows = MonitoringSummary.objects.filter(model_version__in=version_ids)
    monitoring = list(monitoring_rows.select_related("deployment")[:50])
    monitoring_total = len(monitoring) if len(monitoring) < 50 else monitoring_rows.count()
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
        *raci_revisions,
        *thresholds,
    ]
    if requirements:
        governed += [requirements, *constraints]
    for record in lineage_records:
        governed += [*record.sources.all(), *record.steps.all()]
    signed = [
        *([requirements] if requirements else []),
        *raci_revisions,
        *thresholds,
        *dataset_versions,
        *gates,
        *tickets,
    ]
    signatures = signatures_of(signed)
    documents = documents_of([*dataset_versions, *lineage_records])
    closures = ticket_closures(tickets)
    # The RACI revisions shown are those in force when the other records were signed, and the current one; each
    # one's own approval is then shown too (made under the revision before it, which is not shown for that alone).
    record_signatures = [
        signature
        for record in signed
        if not isinstance(record, RaciMatrix)
        for signature, _holds in signatures[record_key(record)]
    ]
    in_force = raci_in_force(raci_revisions, record_signatures)
    shown_raci = [r for r in raci_revisions if r == raci or r in in_force.values()]
    shown_raci_signatures = [signature for r in shown_raci for signature, _holds in signatures[record_key(r)]]
    in_force.update(raci_in_force(raci_revisions, shown_raci_signatures))
    every_signature = [*record_signatures, *shown_raci_signatures]

    def with_documents(dv: DatasetVersion) -> list[Document]:
        record = getattr(dv, "lineage", None)
        return [*documents.get(record_key(dv), []), *(documents.get(record_key(record), []) if record else [])]

    return PackData(
        use_case=use_case,
        model_versions=versions,
        subject=model_version,
        requirements=Signed(requirements, signatures[record_key(requirements)]) if requirements else None,
        constraints=constraints,
        raci=raci,
        raci_signatures=signatures[record_key(raci)] if raci else [],
        thresholds=[Signed(t, signatures[record_key(t)]) for t in thresholds],
        datasets=[Signed(dv, signatures[record_key(dv)], documents=with_documents(dv)) for dv in dataset_versions],
        runs=runs,
        validation_runs=validation_runs,
        gates=[Signed(g, signatures[record_key(g)]) for g in gates],
        cards=cards,
        tickets=[Signed(t, signatures[record_key(t)], **closures.get(t.pk, {})) for t in tickets],
        deployments=deployments,
        deployment_events=events,
        incidents=incidents,
        monitoring=monitoring,
        overrides=overrides_of(governed),
        ledger_refs=_refs(governed),
        role_holdings=role_holdings(every_signature),
        raci_revisions=[Signed(revision, signatures[record_key(revision)]) for revision in shown_raci],
        raci_in_force=in_force,
        suites=suites,
        monitoring_total=monitoring_total,
        comparison=_since_replaced(model_version),
        provenance=list(model_versions_completeness(versions).values()),
    )


def _since_replaced(model_version: ModelVersion | None) -> Comparison | None:
    replaced = replaced_in_production(model_version) if model_version is not None else None
    return compare_model_versions(replaced, model_version) if replaced is not None else None


def _thresholds_in_force(use_case: UseCase, gates: Sequence[GateDecision]) -> list[ThresholdPolicy]:
    """The threshold revisions the gates were decided against, and the one in effect for the use case now (its
    own, or else the organisation default), with their rules and deciders: newest revision first."""
    in_effect = models.Q(state=RevisionState.EFFECTIVE) & (
        models.Q(use_case=use_case) | models.Q(use_case__isnull=True)
    )
    found = list(
        ThresholdPolicy.objects.filter(in_effect | models.Q(pk__in={gate.threshold_policy_id for gate in gates}))
        .select_related("use_case", "proposed_by", "decided_by")
        .prefetch_related("rules")
        .order_by("-decided_at", "-pk")
    )
    used = {gate.threshold_policy_id for gate in gates}
    own = next((t for t in found if t.use_case_id == use_case.pk and t.state == RevisionState.EFFECTIVE), None)
    default = next((t for t in found if t.use_case_id is None and t.state == RevisionState.EFFECTIVE), None)
    now = own or default
    return [t for t in found if t.pk in used or t == now]


def suite_definitions(suites: Iterable[Any]) -> list[SuiteDefinition]:
    """Each suite's cases counted per dimension and category, in one query for all of them."""
    by_pk = {suite.pk: suite for suite in suites}
    if not by_pk:
        return []
    counts: dict[int, list[tuple[str, str, int]]] = {}
    rows = (
        ValidationCase.objects.filter(suite__in=list(by_pk))
        .values_list("suite_id", "dimension", "category")
        .annotate(cases=models.Count("pk"))
        .order_by("suite_id", "dimension", "category")
    )
    dimension_labels = dict(ValidationCase._meta.get_field("dimension").choices)
    category_labels = dict(ValidationCase._meta.get_field("category").choices)
    for suite_id, dimension, category, cases in rows:
        counts.setdefault(suite_id, []).append(
            (str(dimension_labels.get(dimension, dimension)), str(category_labels.get(category, category)), cases)
        )
    return [
        SuiteDefinition(suite=suite, case_count=sum(n for _d, _c, n in counts.get(pk, [])), counts=counts.get(pk, []))
        for pk, suite in sorted(by_pk.items(), key=lambda item: (item[1].slug, item[1].version))
    ]


def incidents_in_scope(
    *,
    use_case: UseCase,
    version_ids: Sequence[int],
    events: Sequence[DeploymentEvent],
    all_events: Sequence[DeploymentEvent],
    deployments: Sequence[Deployment],
) -> list[Incident]:
    """The incidents a pack answers for, newest first, in one query. For a whole use case, all of its incidents.
    For model versions: those recorded against them, those behind a deployment change the pack shows (the
    incident a rollback was made for), those raised on an environment while one of them was live there, and those
    still open on an environment one of them serves now, whichever version they name."""
    related = ("deployment", "model_version")
    if len(version_ids) != 1:
        return list(Incident.objects.filter(use_case=use_case).select_related(*related).order_by("-detected_at", "-pk"))
    (version_id,) = version_ids
    live: dict[int, list[tuple[Any, Any]]] = {}  # deployment -> [(from, until)] while the version served it
    for deployment in deployments:
        history = [e for e in all_events if e.deployment_id == deployment.pk and e.kind in SERVING_CHANGES]
        for event, following in zip(history, [*history[1:], None], strict=True):
            if event.model_version_id == version_id:
                live.setdefault(deployment.pk, []).append((event.happened_at, following and following.happened_at))
    serving_now = {d.pk for d in deployments if d.current_version_id == version_id}
    candidates = (
        Incident.objects.filter(
            models.Q(model_version_id=version_id)
            | models.Q(pk__in={e.incident_id for e in events if e.incident_id})
            | models.Q(deployment__in=set(live) | serving_now)
        )
        .select_related(*related)
        .order_by("-detected_at", "-pk")
    )
    linked = {e.incident_id for e in events}

    def answers_for(incident: Incident) -> bool:
        if incident.model_version_id == version_id or incident.pk in linked:
            return True
        if incident.deployment_id in serving_now and incident.state in OPEN_INCIDENT_STATES:
            return True
        return any(
            start <= incident.detected_at and (until is None or incident.detected_at < until)
            for start, until in live.get(incident.deployment_id, [])
        )

    return [incident for incident in candidates if answers_for(incident)]


def documents_of(records: Sequence[models.Model]) -> dict[tuple[int, str], list[Document]]:
    """The documents attached to ``records`` (a DPIA on a dataset version), newest first, in one query."""
    if not records:
        return {}
    return _grouped(Document.objects.filter(_by_record(records)).select_related("uploaded_by", "supersedes"))


def ticket_closures(tickets: Sequence[ChangeTicket]) -> dict[int, dict[str, Any]]:
    """Who rejected or cancelled each closed ticket and when, from the ledger's transition entries (one query;
    none when no ticket was closed so)."""
    closed = {str(t.pk): t for t in tickets if t.state in (ChangeTicketState.REJECTED, ChangeTicketState.CANCELLED)}
    if not closed:
        return {}
    entries = LedgerEntry.objects.filter(
        object_type=model_label(ChangeTicket), object_id__in=sorted(closed), action=LedgerAction.TRANSITION
    ).order_by("sequence")
    found: dict[int, dict[str, Any]] = {}
    for entry in entries.only("object_id", "actor_name", "recorded_at", "canonical"):
        if entry.payload.get("target") == closed[entry.object_id].state:
            found[closed[entry.object_id].pk] = {"closed_by": entry.actor_name, "closed_at": entry.recorded_at}
    return found


def raci_in_force(revisions: Sequence[RaciMatrix], signatures: Iterable[Signature]) -> dict[int, RaciMatrix]:
    """For each signature, the RACI revision in force when it was made: the last to take effect before it."""
    ordered = sorted(revisions, key=lambda revision: revision.decided_at)
    result = {}
    for signature in signatures:
        before = [revision for revision in ordered if revision.decided_at <= signature.signed_at]
        if before:
            result[signature.pk] = before[-1]
    return result


def role_holdings(signatures: Sequence[Signature]) -> list[RoleHolding]:
    """The role holders at the time of each signature, grouped by distinct set of holders, in time order."""
    ordered = sorted(signatures, key=lambda signature: (signature.signed_at, signature.pk))
    at = role_holders_at(signature.signed_at for signature in ordered)
    groups: dict[tuple, list[Signature]] = {}
    for signature in ordered:
        groups.setdefault(tuple(at[signature.signed_at].items()), []).append(signature)
    return sorted(
        (
            RoleHolding(
                first_signed_at=signed[0].signed_at,
                last_signed_at=signed[-1].signed_at,
                signature_count=len(signed),
                holders=list(holders),
            )
            for holders, signed in groups.items()
        ),
        key=lambda holding: holding.first_signed_at,
    )


def stream_rows(queryset: models.QuerySet) -> Iterator[tuple]:
    """The rows of a ``values_list`` query one at a time, straight off the database cursor.

    Evaluating a queryset builds every row at once; for the tens of thousands of ledger rows a pack reads, those
    short-lived tuples are enough to set off full runs of Python's cyclic garbage collector, which walk every
    object of the process. Read one at a time, a row is gone before the next arrives. Values come as the
    driver returns them (no field converters run), so this serves only columns that need none.
    """
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # a condition no row can meet (``pk__in=[]``): nothing to ask the database
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor


@dataclass
class LedgerSlice:
    """The ledger entries about a pack's scope, in sequence order, column by column: only the columns the pack
    uses, and as lists of plain values (no object per entry), since there may be a hundred thousand entries."""

    sequences: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    actor_names: list[str] = field(default_factory=list)
    canonicals: list[bytes] = field(default_factory=list)
    prev_hashes: list[bytes] = field(default_factory=list)
    entry_hashes: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def first_sequence(self) -> int | None:
        return self.sequences[0] if self.sequences else None

    @property
    def last_sequence(self) -> int | None:
        return self.sequences[-1] if self.sequences else None

    def in_sequence_order(self) -> "LedgerSlice":
        if all(a < b for a, b in zip(self.sequences, self.sequences[1:], strict=False)):
            return self
        order = sorted(range(len(self.sequences)), key=self.sequences.__getitem__)
        columns = (self.sequences, self.actions, self.actor_names, self.canonicals, self.prev_hashes, self.entry_hashes)
        return LedgerSlice(*([column[i] for i in order] for column in columns))


def ledger_slice(refs: set[tuple[str, str]], *, up_to: int) -> LedgerSlice:
    """The ledger entries about the scope's records, up to the checkpoint's tree size, in sequence order."""
    by_type: dict[str, list[str]] = {}
    for object_type, object_id in refs:
        by_type.setdefault(object_type, []).append(object_id)
    if not by_type:
        return LedgerSlice()
    query = models.Q()
    for object_type, ids in by_type.items():
        query |= models.Q(object_type=object_type, object_id__in=sorted(ids))
    # Put in order here rather than by PostgreSQL: the rows come off the table nearly in sequence order already,
    # while PostgreSQL would sort the whole rows (canonical bytes included), on disk once they outgrow its sort
    # memory.
    rows = (
        LedgerEntry.objects.filter(query, sequence__lte=up_to)
        .order_by()
        .values_list("sequence", "action", "actor_name", "canonical", "prev_hash", "entry_hash")
    )
    found = LedgerSlice()
    for sequence, action, actor_name, canonical, prev_hash, entry_hash in stream_rows(rows):
        found.sequences.append(sequence)
        found.actions.append(action)
        found.actor_names.append(actor_name)
        found.canonicals.append(bytes(canonical))
        found.prev_hashes.append(bytes(prev_hash))
        found.entry_hashes.append(bytes(entry_hash))
    return found.in_sequence_order()


def latest_checkpoint() -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.order_by("-tree_size").first()
