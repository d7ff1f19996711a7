"""A use case's assessment results in OSCAL, for the organisation's GRC platform: what the portal has observed of
the use case's controls at work, and what it found wanting.

Observations are the records that show a control working: each gate decision (the validation gate, with the
threshold revision and the figures it was decided on), each signature on a dataset version of the use case's
datasets or one it trained on (the data approvals) and each signature on one of its change tickets or gate
decisions (promotion approvals, human reviews of a borderline gate). Findings are what is not satisfied: each
incident still open and each gate that failed (or was rejected after human review). Every observation and finding
cites the ledger entry that recorded it (the property ``ledger-sequence`` in the portal's namespace) and carries
that entry's time, so an auditor can check it against the ledger, or against an evidence pack.

OSCAL asks assessment results to import an assessment plan. The portal's assessment is continuous and has no plan
document of its own: what it assesses is the use case's component definition (the controls its requirements
implement), so ``import-ap`` points at that export on the API, relative to the portal's address.

Identifiers are stable (uuid5 over the record's type and key): a GRC tool that imports the next export updates its
observations and findings instead of duplicating them. Built with compliance-trestle's models, so the document is
valid OSCAL by construction; it costs a fixed number of queries, however many records the use case has.
"""

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone
from trestle.oscal import OSCAL_VERSION
from trestle.oscal.assessment_results import AssessmentResults, ImportAp, Result
from trestle.oscal.common import (
    ControlSelectionsAll,
    Finding,
    FindingTarget,
    IncludeAll,
    Metadata,
    ObjectiveStatus,
    Observation,
    Property,
    RelatedObservation,
    ReviewedControls,
    SubjectReference,
)

from audit.access import access_record
from audit.canonical import model_label
from audit.choices import AccessKind, LedgerAction
from audit.models import LedgerEntry, Signature
from evidence.collect import OPEN_INCIDENT_STATES
from governance.models import UseCase
from governance.oscal import NAMESPACE, PROPERTY_NS, component_definition_json
from lineage.models import DatasetVersion
from registry.choices import GateOutcome, HumanReviewDecision
from registry.models import ChangeTicket, GateDecision, Incident

#: How a record is named in the ``record`` property (``gate-decision:12``), and the kind of a signature on it.
_RECORD_NAMES = {
    GateDecision: ("gate-decision", "gate-review"),
    DatasetVersion: ("dataset-version", "dataset-approval"),
    ChangeTicket: ("change-ticket", "promotion-approval"),
    Incident: ("incident", ""),
}


def _record(record: models.Model) -> Property:
    return _property("record", f"{_RECORD_NAMES[type(record)][0]}:{record.pk}")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


def _line(text: object) -> str:
    """Text as OSCAL's titles and property values take it: one line, no leading or trailing space."""
    return " ".join(str(text).split()) or "-"


def _property(name: str, value: object, *, class_: str | None = None) -> Property:
    return Property(name=name, value=_line(value), ns=PROPERTY_NS, class_=class_)


def component_uuid(use_case: UseCase) -> str:
    """The use case's component in its component definition (``governance.oscal``): the subject of every result."""
    return _uuid(use_case.slug)


def gate_failed(gate: GateDecision) -> bool:
    """A FAIL, or a BORDERLINE a human reviewer turned down."""
    return gate.outcome == GateOutcome.FAIL or (
        gate.outcome == GateOutcome.BORDERLINE and gate.human_decision == HumanReviewDecision.REJECTED
    )


def _creations(records: Sequence[models.Model]) -> dict[tuple[str, str], tuple[int, datetime]]:
    """The ledger's "create" entry of each record, as (sequence, time) by (type, id): one query for all."""
    ids: dict[str, set[str]] = {}
    for record in records:
        ids.setdefault(model_label(record), set()).add(str(record.pk))
    if not ids:
        return {}
    query = models.Q(pk__in=[])
    for object_type, object_ids in ids.items():
        query |= models.Q(object_type=object_type, object_id__in=sorted(object_ids))
    rows = LedgerEntry.objects.filter(query, action=LedgerAction.CREATE).values_list(
        "object_type", "object_id", "sequence", "recorded_at"
    )
    found: dict[tuple[str, str], tuple[int, datetime]] = {}
    for object_type, object_id, sequence, recorded_at in rows.order_by("sequence"):
        found.setdefault((object_type, object_id), (sequence, recorded_at))
    return found


def _signatures(records: Iterable[models.Model]) -> list[tuple[Signature, models.Model]]:
    """Every signature on ``records``, each with its record, in signing order: one query for all."""
    by_key = {(ContentType.objects.get_for_model(record).pk, str(record.pk)): record for record in records}
    if not by_key:
        return []
    query = models.Q(pk__in=[])
    for content_type_id in {key[0] for key in by_key}:
        object_ids = sorted(object_id for type_id, object_id in by_key if type_id == content_type_id)
        query |= models.Q(content_type_id=content_type_id, object_id__in=object_ids)
    signatures = Signature.objects.filter(query).order_by("signed_at", "pk")
    return [(signature, by_key[(signature.content_type_id, signature.object_id)]) for signature in signatures]


def _cited(created: dict[tuple[str, str], tuple[int, datetime]], record: models.Model) -> tuple[int | None, datetime]:
    """The sequence and time of the entry that recorded ``record`` (a record made before the ledger captured its
    type has none: its own time stands in)."""
    found = created.get((model_label(record), str(record.pk)))
    if found is not None:
        return found
    return None, getattr(record, "decided_at", None) or getattr(record, "detected_at", None) or timezone.now()


def _ledger_props(sequence: int | None) -> list[Property]:
    return [_property("ledger-sequence", sequence)] if sequence is not None else []


def _gate_observation(gate: GateDecision, subject: SubjectReference, sequence: int | None, at: datetime) -> Observation:
    figures = []
    props = [
        *_ledger_props(sequence),
        _record(gate),
        _property("model-version", gate.model_version.identifier),
        _property("gate-outcome", gate.outcome),
        _property("suite", f"{gate.suite.slug} v{gate.suite.version}"),
        _property("threshold-revision", gate.threshold_policy.revision),
    ]
    if gate.human_decision:
        props.append(_property("human-review", gate.human_decision))
    for dimension, figure in sorted(gate.figures.items()):
        rate = f"{figure['pass_rate']}%" if figure.get("pass_rate") is not None else "not tested"
        bar = f"minimum {figure['min_pass_rate']}%" if figure.get("min_pass_rate") is not None else "no threshold"
        figures.append(f"{figure.get('label', dimension)} {rate} ({bar}): {figure.get('outcome') or 'not gated'}")
        if figure.get("pass_rate") is not None:
            props.append(_property("pass-rate", figure["pass_rate"], class_=dimension))
    return Observation(
        uuid=_uuid("gate-decision", gate.pk),
        title=f"Validation gate of {gate.model_version.identifier}: {gate.get_outcome_display()}",
        description=f"Gate decision #{gate.pk} of {gate.model_version.identifier} against threshold revision "
        f"{gate.threshold_policy.revision}: {'; '.join(figures) or 'no figures'}.",
        props=props,
        methods=["TEST"],
        subjects=[subject],
        collected=at,
    )


def _signature_observation(signature: Signature, record: models.Model, subject: SubjectReference) -> Observation:
    identifier = getattr(record, "identifier", None) or str(record)
    return Observation(
        uuid=_uuid("signature", signature.pk),
        title=_line(f"{signature.meaning}: {identifier}"),
        description=f"Electronic signature on {signature.object_label}: {signature.manifestation}.",
        props=[
            *_ledger_props(signature.ledger_entry_id),
            _record(record),
            _property("signature-kind", _RECORD_NAMES[type(record)][1]),
            _property("signer", signature.printed_name),
            _property("meaning", signature.meaning),
            _property("record-digest", signature.record_digest),
        ],
        methods=["EXAMINE"],
        subjects=[subject],
        collected=signature.signed_at,
    )


def _not_satisfied(target: str, title: str) -> FindingTarget:
    return FindingTarget(
        type="objective-id", target_id=target, title=title, status=ObjectiveStatus(state="not-satisfied")
    )


def _gate_finding(gate: GateDecision, sequence: int | None, at: datetime) -> Finding:
    rejected = gate.outcome == GateOutcome.BORDERLINE
    return Finding(
        uuid=_uuid("failed-gate", gate.pk),
        title=f"Validation gate failed: {gate.model_version.identifier}",
        description=f"Gate decision #{gate.pk} of {gate.model_version.identifier} "
        + ("was borderline and rejected after human review" if rejected else "failed")
        + f" against threshold revision {gate.threshold_policy.revision}; it may not be promoted on this decision.",
        props=[*_ledger_props(sequence), _record(gate), _property("recorded-at", at.isoformat())],
        target=_not_satisfied("validation-gate", "Validation against the thresholds in effect"),
        related_observations=[RelatedObservation(observation_uuid=_uuid("gate-decision", gate.pk))],
    )


def _incident_finding(incident: Incident, sequence: int | None, at: datetime) -> Finding:
    version = incident.model_version.identifier if incident.model_version else None
    return Finding(
        uuid=_uuid("incident", incident.pk),
        title=_line(f"Open incident ({incident.get_severity_display()}): {incident.title}"),
        description=f"Incident #{incident.pk}, {incident.get_state_display().lower()}, detected "
        f"{incident.detected_at:%Y-%m-%d %H:%M} UTC{f' on {version}' if version else ''}: {incident.description}",
        props=[
            *_ledger_props(sequence),
            _record(incident),
            _property("recorded-at", at.isoformat()),
            _property("severity", incident.severity),
            _property("incident-state", incident.state),
        ],
        target=_not_satisfied("incident-response", "Incidents contained, traced and closed"),
    )


def assessment_results(use_case: UseCase) -> AssessmentResults:
    """The use case's observations and findings, each citing its ledger entry."""
    gates = list(
        GateDecision.objects.filter(model_version__use_case=use_case)
        .select_related("model_version", "threshold_policy", "suite")
        .order_by("decided_at", "pk")
    )
    dataset_versions = list(
        DatasetVersion.objects.filter(models.Q(dataset__use_case=use_case) | models.Q(training_runs__use_case=use_case))
        .distinct()
        .select_related("dataset")
    )
    tickets = list(ChangeTicket.objects.filter(model_version__use_case=use_case))
    incidents = list(
        Incident.objects.filter(use_case=use_case, state__in=OPEN_INCIDENT_STATES)
        .select_related("model_version")
        .order_by("detected_at", "pk")
    )
    created = _creations([*gates, *incidents])
    subject = SubjectReference(subject_uuid=component_uuid(use_case), type="component", title=_line(use_case.name))

    observations = []
    findings = []
    for gate in gates:
        sequence, at = _cited(created, gate)
        observations.append(_gate_observation(gate, subject, sequence, at))
        if gate_failed(gate):
            findings.append(_gate_finding(gate, sequence, at))
    observations += [
        _signature_observation(signature, record, subject)
        for signature, record in _signatures([*dataset_versions, *tickets, *gates])
    ]
    for incident in incidents:
        findings.append(_incident_finding(incident, *_cited(created, incident)))

    now = timezone.now()
    result = Result(
        uuid=_uuid(use_case.slug, "assessment-results"),
        title=_line(f"{use_case.name}: continuous assessment"),
        description=f"Gate decisions, data and promotion approvals of {use_case.name} as the portal recorded "
        "them, with its open incidents and failed gates as findings.",
        start=min((observation.collected for observation in observations), default=now),
        end=now,
        props=[_property("use-case", use_case.slug)],
        reviewed_controls=ReviewedControls(
            control_selections=[
                ControlSelectionsAll(
                    description="The controls the use case's component definition implements.",
                    include_all=IncludeAll(),
                )
            ]
        ),
        observations=observations or None,
        findings=findings or None,
    )
    return AssessmentResults(
        uuid=str(uuid.uuid4()),
        metadata=Metadata(
            title=_line(f"{use_case.name}: assessment results"),
            last_modified=now,
            version=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            oscal_version=OSCAL_VERSION,
        ),
        import_ap=ImportAp(
            href=reverse("api-oscal-component-definition", args=[use_case.slug]),
            remarks="The portal assesses continuously and keeps no assessment plan of its own: what it assesses "
            "is the controls this use case's component definition implements.",
        ),
        results=[result],
    )


def assessment_results_json(use_case: UseCase) -> bytes:
    """The assessment results as an OSCAL JSON document (``{"assessment-results": {...}}``)."""
    return assessment_results(use_case).oscal_serialize_json_bytes(pretty=True, wrapped=True)


#: The OSCAL documents a use case is exported as, by the name its URL and its access event give it.
DOCUMENTS = {
    "component-definition": component_definition_json,
    "assessment-results": assessment_results_json,
}


def oscal_export(*, use_case: UseCase, user: AbstractBaseUser, document: str, channel: str) -> bytes:
    """One of the use case's OSCAL documents, recorded as an export (an access event, and in the ledger) with its
    digest. Raises ``NothingToExport`` for a component definition with no approved requirements behind it."""
    body = DOCUMENTS[document](use_case)
    access_record(
        user=user,
        kind=AccessKind.EXPORT,
        obj=use_case,
        detail={"format": f"oscal-{document}", "sha256": hashlib.sha256(body).hexdigest(), "channel": channel},
    )
    return body
