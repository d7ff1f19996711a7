"""Tracing one answer: find its record from what a complaint or a regulator's request brings, then read what held
for that answer *at that time* - the version live when it started and the change (ticket or break glass) that put
it there (after a rollback, the rollback and the promotion of the version it restored), the data it was trained on
with the sources' legal bases, who approved the data and the promotion (each signature with whether it still holds),
the gate it passed against which thresholds revision, the runtime checks and the human reviewer's decision if it was
escalated, and the record's Merkle proof into its batch's ledger entry.

A trace costs a fixed number of indexed queries, whatever the number of inference records: the record by its
indexed identifiers, then the deployment history of one environment up to one moment, one model version's
lineage, and one query for all the signatures shown. The pasted answer is hashed under every configured key and
is never stored or logged.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.canonical import record_digest
from audit.models import Signature
from governance.models import BreakGlassOverride
from inference.choices import ResponseClassification
from inference.models import AnswerReview, InferenceRecord
from inference.proofs import RecordProof, record_proof
from inference.selectors import records_for_answer, records_for_identifier
from lineage.models import DatasetVersion, LineageSource
from registry.choices import DeploymentEventKind, GateOutcome
from registry.models import ChangeTicket, DeploymentEvent, GateDecision, ModelVersion, TrainingRunDataset

#: A pasted answer longer than this is refused: no answer of a deployed model is anywhere near it.
MAX_QUERY_LENGTH = 20_000
#: How many records one search lists (a conversation id matches every answer of the conversation).
MAX_RESULTS = 50


class TraceQueryInvalid(ValueError):
    """The search cannot be run as given; the message says what to change."""


def records_matching(query: str) -> list[InferenceRecord]:
    """The records a response id, trace id, conversation id or pasted answer names, newest first, at most
    ``MAX_RESULTS``. One query: each alternative is an indexed equality (the answer's HMAC under each key)."""
    value = (query or "").strip()
    if not value:
        raise TraceQueryInvalid("Enter a response id, a trace id, a conversation id, or paste the answer.")
    if len(value) > MAX_QUERY_LENGTH:
        raise TraceQueryInvalid(
            f"The text is {len(value)} characters long; paste at most {MAX_QUERY_LENGTH} characters of the answer."
        )
    found = records_for_answer(value)
    if len(value) <= 200 and not any(character.isspace() for character in value):
        found = found | records_for_identifier(value)
    return list(
        found.select_related("use_case", "model_version").order_by("-started_at", "-id")[:MAX_RESULTS]  # indexed
    )


@dataclass(frozen=True)
class SignatureShown:
    """One electronic signature as the trace shows it: who (and on whose behalf), as what, when, with the signer's
    note, and whether it still holds."""

    printed_name: str
    meaning: str
    signed_at: datetime.datetime
    valid: bool
    ledger_sequence: int | None
    on_behalf_of_name: str = ""
    note: str = ""


@dataclass
class DatasetShown:
    version: DatasetVersion
    content_digest: str
    sources: list[LineageSource]
    signatures: list[SignatureShown]


@dataclass
class Trace:
    """What held for one answer when it was given."""

    record: InferenceRecord
    #: The deployment history's change that made the live version live (deploy or rollback), or None.
    event: DeploymentEvent | None
    #: The deploy whose change ticket approved the live version for this environment: the event itself, or after
    #: a rollback the earlier promotion of the version it restored (a rollback goes back to what was approved; its
    #: own record is the incident and the reason).
    promotion: DeploymentEvent | None
    model_version: ModelVersion | None
    ticket: ChangeTicket | None
    ticket_signatures: list[SignatureShown]
    #: The break-glass overrides on the change that put the version there (the event's, and the ticket's).
    overrides: list[BreakGlassOverride]
    datasets: list[DatasetShown]
    gate: GateDecision | None
    gate_signatures: list[SignatureShown]
    proof: RecordProof
    notes: list[str] = field(default_factory=list)
    #: The human reviewer's decision on an escalated answer; None while it waits (or when not escalated).
    review: AnswerReview | None = None

    @property
    def thresholds(self) -> list[dict[str, Any]]:
        """The gate's figures per dimension with the threshold each was held to, in dimension order."""
        if self.gate is None:
            return []
        return [{"dimension": key, **figure} for key, figure in sorted(self.gate.figures.items())]

    @property
    def gate_reviewer(self) -> str:
        """The human who decided a borderline gate, as the gate records them; "" when none did."""
        gate = self.gate
        if gate is None or gate.human_reviewer is None:
            return ""
        return gate.human_reviewer.get_full_name() or gate.human_reviewer.get_username()

    @property
    def escalated(self) -> bool:
        return self.record.response_classification == ResponseClassification.ESCALATED

    @property
    def answer_reviewer(self) -> str:
        """The human who decided the escalated answer, as the review records them; "" while none has."""
        if self.review is None:
            return ""
        return self.review.reviewer.get_full_name() or self.review.reviewer.get_username()

    @property
    def proven(self) -> bool:
        return self.proof.holds()


def _shown(signatures: list[Signature], record: models.Model) -> list[SignatureShown]:
    current = record_digest(record) if signatures else None
    return [
        SignatureShown(
            printed_name=signature.printed_name,
            meaning=signature.meaning,
            signed_at=signature.signed_at,
            valid=signature.record_digest == current,
            ledger_sequence=signature.ledger_entry.sequence if signature.ledger_entry_id else None,
            on_behalf_of_name=signature.on_behalf_of_name,
            note=signature.note,
        )
        for signature in signatures
    ]


def _key(record: models.Model) -> tuple[int, str]:
    """(content type id, object id): how signatures and overrides point at a record."""
    return ContentType.objects.get_for_model(record).pk, str(record.pk)


def _pointing_at(records: list[models.Model]) -> models.Q:
    """Rows of a generic-relation table (signatures, overrides) that point at any of ``records``."""
    match = models.Q(pk__in=[])
    for record in records:
        content_type_id, object_id = _key(record)
        match |= models.Q(content_type_id=content_type_id, object_id=object_id)
    return match


def _signatures_by_record(records: list[models.Model]) -> dict[tuple[int, str], list[Signature]]:
    """The signatures on every one of ``records`` in one query, oldest first, by ``_key``."""
    found: dict[tuple[int, str], list[Signature]] = {}
    rows = Signature.objects.filter(_pointing_at(records)).select_related("ledger_entry").order_by("signed_at", "pk")
    for signature in rows:
        found.setdefault((signature.content_type_id, signature.object_id), []).append(signature)
    return found


def _overrides(ticket: ChangeTicket | None, *events: DeploymentEvent | None) -> list[BreakGlassOverride]:
    """The deployment events' own overrides and those recorded against the ticket, in one query at most."""
    found: list[BreakGlassOverride] = []
    for event in events:
        if event is not None and event.override is not None and event.override not in found:
            found.append(event.override)
    if ticket is not None:
        rows = BreakGlassOverride.objects.filter(_pointing_at([ticket])).select_related("requested_by", "approved_by")
        found += [override for override in rows if override not in found]
    return found


def _latest_event(**conditions: Any) -> DeploymentEvent | None:
    """The latest deployment event meeting ``conditions``, with what the trace shows of it."""
    return (
        DeploymentEvent.objects.filter(**conditions)
        .select_related(
            "change_ticket__requested_by", "override__requested_by", "override__approved_by", "incident", "actor"
        )
        .order_by("-happened_at", "-id")
        .first()
    )


def _live_event(record: InferenceRecord) -> DeploymentEvent | None:
    """The latest deploy or rollback of the record's environment at or before the answer started."""
    return _latest_event(
        deployment__use_case_id=record.use_case_id,
        deployment__environment=record.environment,
        kind__in=(DeploymentEventKind.DEPLOY, DeploymentEventKind.ROLLBACK),
        happened_at__lte=record.started_at,
    )


def _promotion(event: DeploymentEvent | None) -> DeploymentEvent | None:
    """The deploy that put ``event``'s version into its environment: ``event`` itself, or for a rollback the
    latest deploy of the restored version there before it (one more query, only after a rollback)."""
    if event is None or event.kind != DeploymentEventKind.ROLLBACK:
        return event
    return _latest_event(
        deployment_id=event.deployment_id,
        kind=DeploymentEventKind.DEPLOY,
        model_version_id=event.model_version_id,
        happened_at__lte=event.happened_at,
    )


def _gate(model_version: ModelVersion, ticket: ChangeTicket | None, moment: datetime.datetime) -> GateDecision | None:
    """The gate decision the promoting ticket rested on; without one, the version's latest gate before ``moment``."""
    gates = GateDecision.objects.select_related(
        "threshold_policy__use_case", "human_reviewer", "suite", "validation_run"
    )
    if ticket is not None and ticket.gate_decision_id:
        return gates.get(pk=ticket.gate_decision_id)
    return gates.filter(model_version=model_version, decided_at__lte=moment).order_by("-decided_at", "-id").first()


def trace(record: InferenceRecord) -> Trace:
    """Everything the trace page and the output provenance statement show for ``record``."""
    record = InferenceRecord.objects.select_related(
        "batch", "use_case", "model_version__training_run__base_model", "named_version"
    ).get(pk=record.pk)
    notes: list[str] = []
    event = _live_event(record)
    model_version = record.model_version
    if model_version is None:
        notes.append("No model version was live in this environment when the answer started.")
    if record.version_mismatch:
        notes.append(
            f"The span named {record.named_version}, which was not the version the deployment history says was live."
        )
    promotion = _promotion(event)
    if event is not None and promotion is None:
        notes.append("The rollback restored a version the deployment history never shows promoted here.")
    ticket = promotion.change_ticket if promotion is not None else None
    overrides = _overrides(ticket, event, promotion)
    datasets: list[DatasetShown] = []
    gate = None
    signatures: dict[tuple[int, str], list[Signature]] = {}
    if model_version is not None:
        links = list(
            TrainingRunDataset.objects.filter(run_id=model_version.training_run_id)
            .select_related("dataset_version__dataset")
            .order_by("dataset_version__dataset__slug", "dataset_version__number")
        )
        sources: dict[int, list[LineageSource]] = {}
        for source in LineageSource.objects.filter(
            record__version__in=[link.dataset_version_id for link in links]
        ).select_related("source_system", "record"):
            sources.setdefault(source.record.version_id, []).append(source)
        gate = _gate(model_version, ticket, record.started_at)
        signed: list[models.Model] = [link.dataset_version for link in links]
        signed += [item for item in (ticket, gate) if item is not None]
        signatures = _signatures_by_record(signed)
        datasets = [
            DatasetShown(
                version=link.dataset_version,
                content_digest=link.content_digest or link.dataset_version.content_digest,
                sources=sources.get(link.dataset_version_id, []),
                signatures=_shown(signatures.get(_key(link.dataset_version), []), link.dataset_version),
            )
            for link in links
        ]
    if event is not None and event.model_version_id != record.model_version_id:
        notes.append("The deployment history's last change before the answer does not name the live version.")
    proof = record_proof(record)
    review = None
    if record.response_classification == ResponseClassification.ESCALATED:
        review = AnswerReview.objects.select_related("reviewer").filter(record_id=record.pk).first()
    return Trace(
        record=record,
        event=event,
        promotion=promotion,
        model_version=model_version,
        ticket=ticket,
        ticket_signatures=_shown(signatures.get(_key(ticket), []), ticket) if ticket is not None else [],
        overrides=overrides,
        datasets=datasets,
        gate=gate,
        gate_signatures=_shown(signatures.get(_key(gate), []), gate) if gate is not None else [],
        proof=proof,
        notes=notes,
        review=review,
    )


def gate_outcome_label(gate: GateDecision | None) -> str:
    if gate is None:
        return "no gate decision"
    label = gate.get_outcome_display()
    if gate.outcome == GateOutcome.BORDERLINE and gate.human_decision:
        label += f" ({gate.get_human_decision_display().lower()} by a human reviewer)"
    return label
