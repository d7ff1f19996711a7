"""Recording inference spans: records in bulk, one ledger entry per batch, and a draft incident when a span names
another model version than the deployment history says was live; monitoring summaries computed from the records."""

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q

from accounts.authz import require
from accounts.models import PipelineToken
from audit import ledger, merkle
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import denials_recorded
from governance.models import UseCase
from inference.choices import ResponseClassification
from inference.models import InferenceBatch, InferenceCitation, InferenceRecord
from inference.otlp import SpanFacts
from inference.partitions import TABLE, inference_partitions_ensure, month_start, partitioned
from inference.record_rows import Digests, record_row, records_insert
from inference.redaction import excerpt_policy
from inference.reviews import period_reviews
from registry.choices import DeploymentEventKind, IncidentState
from registry.models import Deployment, DeploymentEvent, Incident, ModelVersion, MonitoringSummary
from registry.services.deployments import deployment_get_locked
from registry.services.incidents import incident_raise_draft
from registry.services.monitoring import monitoring_summary_record

#: The actor citations are recorded as.
CITER = "system:monitoring"
#: How many records an incident cites at most: enough to look at, not the whole period.
CITED_RECORDS = 100

#: Spans whose ids one SQLite query checks: two parameters each, well inside SQLite's 32,766.
SQLITE_CHUNK = 5000

#: Incident states in which a mismatch is already being looked at: no second draft is raised for it.
_OPEN_STATES = (IncidentState.DRAFT, IncidentState.OPEN, IncidentState.CONTAINED)


@dataclass
class ResolvedSpan:
    """A span whose use case and named version the portal knows."""

    facts: SpanFacts
    use_case: UseCase
    named_version: ModelVersion | None


class LiveVersions:
    """Which version the deployment history says each environment of the use cases served at a given time."""

    def __init__(self, use_case_ids: Iterable[int]) -> None:
        self._history: dict[tuple[int, str], tuple[list[datetime.datetime], list[int | None]]] = {}
        events = (
            DeploymentEvent.objects.filter(
                deployment__use_case_id__in=set(use_case_ids),
                kind__in=(DeploymentEventKind.DEPLOY, DeploymentEventKind.ROLLBACK),
            )
            .order_by("happened_at", "id")
            .values_list("deployment__use_case_id", "deployment__environment", "happened_at", "model_version_id")
        )
        for use_case_id, environment, happened_at, version_id in events:
            times, versions = self._history.setdefault((use_case_id, environment), ([], []))
            times.append(happened_at)
            versions.append(version_id)

    def at(self, use_case_id: int, environment: str, moment: datetime.datetime) -> int | None:
        times, versions = self._history.get((use_case_id, environment), ([], []))
        index = bisect.bisect_right(times, moment)
        return versions[index - 1] if index else None


def inference_spans_record(
    *, actor: AbstractBaseUser, token: PipelineToken, spans: list[ResolvedSpan]
) -> list[InferenceBatch]:
    """Record the spans, one batch per use case: its records in one bulk insert, and one ledger entry with the
    count and the Merkle root over them. A span already recorded (an exporter's retry) is not recorded again.
    A record whose span named another version than the live one is kept and flagged, and raises a draft incident
    for that version in that environment unless one is already open.

    Retries are rare, so the spans are first written without looking for them: the span constraint refuses a
    request that repeats one, and only then is that attempt undone (to its savepoint) and the spans already
    recorded looked up and left out. Another request recording the same span at the same moment ends the same way
    once it commits."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "inference.add_inferencebatch", attempted="inference_spans_record")
        # Before the records table is read, so that a partition this request makes cannot wait for another session
        # that read it.
        inference_partitions_ensure({(span.use_case.pk, month_start(span.facts.started_at)) for span in spans})
        unique = {(span.facts.trace_id, span.facts.span_id): span for span in spans}
        try:
            with transaction.atomic():
                return _batches_record(list(unique.values()), token=token)
        except IntegrityError:
            # A repeated span, or something else, which the second attempt then meets again and raises.
            seen = _already_recorded(list(unique.values()))
        return _batches_record([span for ids, span in unique.items() if ids not in seen], token=token)


def _batches_record(spans: list[ResolvedSpan], *, token: PipelineToken) -> list[InferenceBatch]:
    by_use_case: dict[int, list[ResolvedSpan]] = defaultdict(list)
    for span in spans:
        by_use_case[span.use_case.pk].append(span)
    live = LiveVersions(by_use_case)
    batches = []
    for group in by_use_case.values():
        batch, records = _batch_record(group, live, token=token)
        batches.append(batch)
        _raise_mismatch_incidents(group, records)
    return batches


def _already_recorded(spans: list[ResolvedSpan]) -> set[tuple[str, str]]:
    """Which of the spans' ``(trace id, span id)`` pairs are recorded already. On PostgreSQL one query whatever
    their number (arrays as parameters, not a parameter per id), which reads only the partitions of the spans' use
    cases and period: a retried span has the same use case and start, which the span constraint also holds. On
    SQLite, one query per chunk its parameter limit allows."""
    if not spans:
        return set()
    ids = [(span.facts.trace_id, span.facts.span_id) for span in spans]
    if partitioned():
        started = [span.facts.started_at for span in spans]
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT trace_id, span_id FROM "{TABLE}" WHERE trace_id = ANY(%s) AND span_id = ANY(%s) '  # noqa: S608
                "AND use_case_id = ANY(%s) AND started_at BETWEEN %s AND %s",
                [
                    list({bytes.fromhex(trace) for trace, _span in ids}),
                    list({bytes.fromhex(span) for _trace, span in ids}),
                    list({span.use_case.pk for span in spans}),
                    min(started),
                    max(started),
                ],
            )
            return {(bytes(trace).hex(), bytes(span).hex()) for trace, span in cursor.fetchall()}
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(ids), SQLITE_CHUNK):
        chunk = ids[start : start + SQLITE_CHUNK]
        seen.update(
            InferenceRecord.objects.filter(trace_id__in={trace for trace, _span in chunk})
            .filter(span_id__in={span for _trace, span in chunk})
            .values_list("trace_id", "span_id")
        )
    return seen


def _batch_record(
    group: list[ResolvedSpan], live: LiveVersions, *, token: PipelineToken
) -> tuple[InferenceBatch, list[InferenceRecord]]:
    """One use case's spans as a batch: its records in one insert, sealed by one ledger entry. Returns the batch
    and, of its records, those whose span named another version than the live one."""
    use_case = group[0].use_case
    use_case_id = use_case.pk
    excerpts = excerpt_policy(use_case)
    digests = Digests()
    live_at = live.at
    rows = (
        record_row(
            span.facts,
            position=position,
            use_case_id=use_case_id,
            live_version_id=live_at(use_case_id, span.facts.environment, span.facts.started_at),
            named_version_id=span.named_version.pk if span.named_version is not None else None,
            digest=digests.digest,
            pseudonym=digests.pseudonym,
            key_id=digests.key_id,
            excerpt=excerpts.excerpt,
        )
        for position, span in enumerate(group)
    )
    # The root is known only once every record is written (they are streamed in as they are made); the batch row
    # gets it below, in the same transaction, and the ledger entry is what seals it.
    batch = InferenceBatch.objects.create(use_case=use_case, token=token, record_count=len(group), merkle_root="")
    leaves, mismatched = records_insert(rows, batch_id=batch.pk)
    root = merkle.root(leaves).hex()
    started = [span.facts.started_at for span in group]
    entry = ledger.append(
        action=LedgerAction.CREATE,
        obj=batch,
        payload={
            "inference_batch": {
                "use_case": use_case.slug,
                "records": len(leaves),
                "merkle_root": root,
                "version_mismatches": len(mismatched),
                "first_started_at": min(started),
                "last_started_at": max(started),
                "token": token.prefix,
            }
        },
    )
    batch.merkle_root, batch.ledger_sequence = root, entry.sequence
    batch.save(update_fields=["merkle_root", "ledger_sequence"])
    return batch, mismatched


def _raise_mismatch_incidents(group: list[ResolvedSpan], records: list[InferenceRecord]) -> None:
    flagged: dict[tuple[str, int], list[InferenceRecord]] = defaultdict(list)
    for record in records:
        if record.version_mismatch:
            flagged[(record.environment, record.named_version_id)].append(record)
    versions = {span.named_version.pk: span.named_version for span in group if span.named_version is not None}
    use_case = group[0].use_case
    for (environment, version_id), mismatched in sorted(flagged.items()):
        # Locked, so that two batches at once raise one draft between them.
        deployment = deployment_get_locked(use_case.pk, environment)
        if Incident.objects.filter(deployment=deployment, model_version_id=version_id, state__in=_OPEN_STATES).exists():
            continue
        version = versions[version_id]
        live = mismatched[0].model_version_id
        incident = incident_raise_draft(
            deployment=deployment,
            model_version=version,
            title=f"Answers from {version} in {environment}, where it was not live",
            description=(
                f"{len(mismatched)} inference record(s) of {use_case.slug} in {environment} name {version}, but the "
                f"deployment history says "
                + (f"model version {ModelVersion.objects.get(pk=live)}" if live else "no version")
                + f" was live then (first: trace {mismatched[0].trace_id}, span {mismatched[0].span_id}). "
                "A shadow deployment, a stale router, or a version never promoted there."
            ),
        )
        incident_records_cite(incident=incident, records=mismatched[:CITED_RECORDS], reason="version mismatch")


def inference_monitoring_rollup(
    *,
    deployment: Deployment,
    actor: AbstractBaseUser,
    period_start: datetime.datetime,
    period_end: datetime.datetime,
) -> MonitoringSummary:
    """The deployment's monitoring summary for a period, computed from its inference records instead of posted:
    the volume is the answers that started in ``[period_start, period_end)``; the policy-violation and escalation
    rates are the answers classified ``fail`` and ``escalated``; the refusal rate, those that finished with
    ``content_filter``; the human-override rate, the reviewed escalations a reviewer overrode (``inference.reviews``);
    the review backlog, the escalations no reviewer has decided yet. Alert thresholds and draft incidents work as
    for a posted summary (``monitoring_summary_record`` records it), and a draft incident it raises cites
    the period's latest failed and escalated records."""
    period = InferenceRecord.objects.filter(
        use_case_id=deployment.use_case_id,
        environment=deployment.environment,
        started_at__gte=period_start,
        started_at__lt=period_end,
    )
    figures = period.aggregate(
        volume=Count("pk"),
        failed=Count("pk", filter=Q(response_classification=ResponseClassification.FAIL)),
        escalated=Count("pk", filter=Q(response_classification=ResponseClassification.ESCALATED)),
        refused=Count("pk", filter=Q(finish_reasons__icontains='"content_filter"')),
    )
    volume = figures["volume"]
    reviews = period_reviews(period)

    def rate(count: int, of: int = volume) -> Decimal:
        return (Decimal(100) * count / of).quantize(Decimal("0.01")) if of else Decimal(0)

    with transaction.atomic():
        summary = monitoring_summary_record(
            deployment=deployment,
            actor=actor,
            period_start=period_start,
            period_end=period_end,
            volume=volume,
            policy_violation_rate=rate(figures["failed"]),
            refusal_rate=rate(figures["refused"]),
            escalation_rate=rate(figures["escalated"]),
            human_override_rate=rate(reviews.overridden, reviews.reviewed),
            review_backlog=figures["escalated"] - reviews.reviewed,
        )
        if summary.incident is not None:
            flagged = period.filter(
                response_classification__in=(ResponseClassification.FAIL, ResponseClassification.ESCALATED)
            ).order_by("-started_at")
            incident_records_cite(
                incident=summary.incident, records=list(flagged[:CITED_RECORDS]), reason="monitoring alert"
            )
        return summary


def incident_records_cite(*, incident: Incident, records: list[InferenceRecord], reason: str) -> list[int]:
    """Cite ``records`` in ``incident`` (those already cited are skipped), with one ledger entry naming them by
    id, trace and span; returns the ids newly cited. The monitoring side cites the answers that raised a draft."""
    with transaction.atomic(), acting_as(actor_name=CITER):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)  # one citer of an incident at a time
        cited = set(InferenceCitation.objects.filter(incident=incident).values_list("record_id", flat=True))
        new = [record for record in records if record.pk not in cited]
        if not new:
            return []
        InferenceCitation.objects.bulk_create(
            InferenceCitation(incident=incident, record_id=record.pk, trace_id=record.trace_id, span_id=record.span_id)
            for record in new
        )
        ledger.append(
            action=LedgerAction.CREATE,
            object_type="inference.inferencecitation",
            object_id=str(incident.pk),
            object_label=f"Inference records cited by {incident.identifier}"[:300],
            payload={
                "inference_citation": {
                    "incident": incident.identifier,
                    "reason": reason,
                    "records": [[record.pk, record.trace_id, record.span_id] for record in new],
                }
            },
        )
        return [record.pk for record in new]
