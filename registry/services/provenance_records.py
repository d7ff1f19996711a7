"""Three more contradictions between provenance records, each found by comparing a claim with a measurement.

* **Production far from validation** (``monitoring_diverges``, high): a deployment's monitoring summary reports a
  policy-violation or refusal rate more than ``PROVENANCE_MONITORING_TOLERANCE`` points from what the validation
  run behind the version's latest gate decision measured. The validated policy-violation rate is the share of
  policy-compliance cases that failed (100 - the dimension's pass rate); the validated refusal rate is the share of
  the run's answers that were refusals (cases expecting a refusal that passed), and only a production rate above it
  contradicts it: a suite is meant to over-represent what must be refused, so fewer refusals in ordinary traffic is
  what the mix predicts, while more means the model refuses what it was validated to answer. High, because either
  the model serving is not the one validated or the validation suite does not represent the traffic it serves: in
  both cases the gate's evidence no longer describes production, and two people should agree on why before the
  version is promoted again. A period with fewer than ``PROVENANCE_MONITORING_MIN_VOLUME`` conversations says too
  little to contradict anything and is not compared.
* **Declared rows or bytes not what the pipeline reported** (``dataset_statistics_differ``, medium): a dataset
  version's row count or size differs from the ``outputStatistics`` facet of a completed OpenLineage run that
  produced the same content digest, by more than ``PROVENANCE_ROW_TOLERANCE`` / ``PROVENANCE_SIZE_TOLERANCE`` (a
  fraction of the reported figure). Medium: the digests agree, so the content is the one approved; one of the
  two records misstates its size, which a person corrects or explains.
* **The model card's "what changed" contradicts the differences** (``card_contradicts_differences``, medium):
  the latest card of a version says the data did not change while the comparison with the version it is judged
  against (``registry.comparison``) shows datasets added, removed or changed; or, not claiming that, it names a
  dataset whose version is the same in both. Medium: the records are right and the card misdescribes them; the card is
  rewritten, nothing about the model is in doubt.

Each finding carries ``records``: the two records compared (type ``app_label.model``, id, label), which the
flag's page links to.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models import Model as DjangoModel

from lineage.choices import OpenLineageEventType
from lineage.models import Dataset, DatasetVersion
from registry.choices import ExpectedBehaviour, ProvenanceFlagKind, ProvenanceFlagSeverity, ResultOutcome
from registry.comparison import compare_model_versions, predecessor
from registry.models import GateDecision, ModelCard, ModelVersion, MonitoringSummary, ValidationResult

POLICY_COMPLIANCE = "policy_compliance"
#: Rates that contradict validation only when production is above what validation measured (see above).
ONE_SIDED = frozenset({"refusal_rate"})
#: Phrases that say the training data did not change ("no data changes", "same training data", "data: unchanged").
NO_DATA_CHANGE = re.compile(
    r"\bno\s+(?:new\s+|other\s+)?(?:training\s+)?data(?:sets?)?\b"
    r"|\bno\s+changes?\s+(?:to|in)\s+(?:the\s+)?(?:training\s+)?data"
    r"|\b(?:training\s+)?data(?:sets?)?\s*(?::\s*|\s(?:is|was|were|are|remains?|remained|stays?|stayed)\s+)"
    r"(?:unchanged|the\s+same|as\s+before|none)\b"
    r"|\b(?:training\s+)?data(?:sets?)?\s+unchanged\b"
    r"|\bsame\s+(?:training\s+)?data"
    r"|\bnothing\s+changed\s+in\s+(?:the\s+)?(?:training\s+)?data",
    re.IGNORECASE,
)
EXCERPT_CHARS = 500


def _decimal_setting(name: str) -> Decimal:
    try:
        return Decimal(str(getattr(settings, name)))
    except InvalidOperation:
        raise ValueError(f"{name} is not a number: {getattr(settings, name)!r}") from None


def record_ref(obj: DjangoModel) -> dict[str, Any]:
    """How a finding names a record it compared, for the flag's page to link to."""
    return {"type": obj._meta.label_lower, "id": obj.pk, "label": str(obj)[:200]}


# -- production against validation ------------------------------------------------------------------------------


def _validated_rates(gate: GateDecision) -> dict[str, Decimal]:
    """The rates validation measured, in %, comparable with a monitoring summary's."""
    rates: dict[str, Decimal] = {}
    compliance = (gate.figures.get(POLICY_COMPLIANCE) or {}).get("pass_rate")
    if compliance is not None:
        rates["policy_violation_rate"] = Decimal(100) - Decimal(compliance)
    counts = ValidationResult.objects.filter(run_id=gate.validation_run_id).aggregate(
        total=Count("pk"),
        refused=Count("pk", filter=Q(case__expected_behaviour=ExpectedBehaviour.REFUSE, outcome=ResultOutcome.PASS)),
    )
    if counts["total"]:
        rates["refusal_rate"] = (Decimal(100) * counts["refused"] / counts["total"]).quantize(Decimal("0.01"))
    return rates


def monitoring_divergences(version: ModelVersion, gate: GateDecision | None) -> list[dict[str, Any]]:
    """Each deployment's latest large enough monitoring period of ``version`` against its latest gate decision."""
    if gate is None:
        return []
    tolerance = _decimal_setting("PROVENANCE_MONITORING_TOLERANCE")
    latest: dict[int, MonitoringSummary] = {}
    summaries = MonitoringSummary.objects.filter(
        model_version=version, volume__gte=settings.PROVENANCE_MONITORING_MIN_VOLUME
    ).select_related("deployment")
    for summary in summaries.order_by("-period_end", "-pk"):
        latest.setdefault(summary.deployment_id, summary)
    if not latest:
        return []
    validated = _validated_rates(gate)
    labels = {"policy_violation_rate": "policy-violation rate", "refusal_rate": "refusal rate"}
    found = []
    for summary in latest.values():
        for rate, label in labels.items():
            expected, observed = validated.get(rate), getattr(summary, rate)
            if expected is None or abs(observed - expected) <= tolerance:
                continue
            if rate in ONE_SIDED and observed < expected:
                continue
            found.append(
                {
                    "kind": ProvenanceFlagKind.MONITORING_DIVERGES,
                    "severity": ProvenanceFlagSeverity.HIGH,
                    "subject": f"{summary.deployment}: {rate}",
                    "summary": f"In {summary.deployment}, {version} had a {label} of {observed}% from "
                    f"{summary.period_start:%Y-%m-%d %H:%M} to {summary.period_end:%Y-%m-%d %H:%M} UTC "
                    f"({summary.volume} conversations); the validation run behind its gate decision measured "
                    f"{expected}%.",
                    "evidence": {
                        "rate": rate,
                        "production": str(observed),
                        "validated": str(expected),
                        "tolerance": str(tolerance),
                        "volume": summary.volume,
                        "records": [record_ref(summary), record_ref(gate)],
                    },
                }
            )
    return found


# -- a dataset version against its pipeline's report ------------------------------------------------------------


def _reported_outputs(version: DatasetVersion) -> list[tuple[Any, dict[str, Any]]]:
    """(run, outputStatistics) of each completed run that reported this version's content as an output."""
    found = []
    runs = version.openlineage_runs.filter(state=OpenLineageEventType.COMPLETE).order_by("pk")
    for run in runs:
        for output in run.outputs:
            facets = output.get("facets", {})
            digest = str(facets.get("version", "")).strip().lower().removeprefix("sha256:")
            statistics = facets.get("outputStatistics")
            if output.get("name") == version.dataset.slug and digest == version.content_digest and statistics:
                found.append((run, statistics))
    return found


def dataset_statistics_differences(version: DatasetVersion) -> list[dict[str, Any]]:
    """The declared row count and size against what each completed run that produced the content reported."""
    checks = (
        ("rowCount", "row_count", "rows", _decimal_setting("PROVENANCE_ROW_TOLERANCE")),
        ("size", "size_bytes", "bytes", _decimal_setting("PROVENANCE_SIZE_TOLERANCE")),
    )
    found = []
    for run, statistics in _reported_outputs(version):
        for key, field, unit, tolerance in checks:
            reported, declared = statistics.get(key), getattr(version, field)
            if not isinstance(reported, int) or isinstance(reported, bool):
                continue
            if abs(declared - reported) <= tolerance * reported:
                continue
            found.append(
                {
                    "kind": ProvenanceFlagKind.DATASET_STATISTICS_DIFFER,
                    "severity": ProvenanceFlagSeverity.MEDIUM,
                    "subject": f"{run.run_id}: {key}",
                    "summary": f"{version} declares {declared:,} {unit}; the pipeline run {run.job_namespace}/"
                    f"{run.job_name} ({run.run_id}) that produced the same content reported {reported:,}.",
                    "evidence": {
                        "statistic": key,
                        "declared": declared,
                        "reported": reported,
                        "tolerance": str(tolerance),
                        "openlineage_run": str(run.run_id),
                        "records": [record_ref(version), record_ref(run)],
                    },
                }
            )
    return found


# -- the model card against the differences ---------------------------------------------------------------------


def _named_datasets(text: str) -> list[str]:
    """The registered datasets the text names by slug (``support-chats`` or ``support-chats@3``)."""
    lowered = text.lower()
    candidates = Dataset.objects.order_by("slug").values_list("slug", flat=True)
    return [
        slug
        for slug in candidates
        if slug in lowered and re.search(rf"(?<![\w-]){re.escape(slug)}(?![\w-])", lowered) is not None
    ]


def card_contradictions(version: ModelVersion) -> list[dict[str, Any]]:
    """The latest card's "what changed" against the comparison with the version it is judged against."""
    card = ModelCard.objects.filter(model_version=version).order_by("-revision").first()
    if card is None or not card.what_changed.strip():
        return []
    previous = predecessor(version)
    if previous is None:
        return []
    comparison = compare_model_versions(previous, version)
    changed = {item.dataset: item for item in comparison.data_changes}
    recorded = [f"{item.dataset} {item.change}" for item in comparison.data_changes]
    excerpt = card.what_changed[:EXCERPT_CHARS]
    records = [record_ref(card), record_ref(previous)]
    found = []
    claim = NO_DATA_CHANGE.search(card.what_changed)
    if claim is not None and changed:
        found.append(
            {
                "kind": ProvenanceFlagKind.CARD_CONTRADICTS_DIFFERENCES,
                "severity": ProvenanceFlagSeverity.MEDIUM,
                "subject": "data said unchanged",
                "summary": f"The model card of {version} (revision {card.revision}) says “{claim.group(0)}”, but "
                f"against {previous} the training data changed: {', '.join(recorded)}.",
                "evidence": {"what_changed": excerpt, "recorded_data_changes": recorded, "records": records},
                "other_model_version": previous,
            }
        )
    # Beside a claim that the data did not change, a dataset named is the data that stayed (the claim is checked).
    for slug in [] if claim is not None else _named_datasets(card.what_changed):
        if slug in changed:
            continue
        found.append(
            {
                "kind": ProvenanceFlagKind.CARD_CONTRADICTS_DIFFERENCES,
                "severity": ProvenanceFlagSeverity.MEDIUM,
                "subject": f"dataset {slug}",
                "summary": f"The model card of {version} (revision {card.revision}) names {slug} among what "
                f"changed, but {slug} is not among the data that differs from {previous}"
                + (f" ({', '.join(recorded)})." if recorded else " (no dataset differs)."),
                "evidence": {"what_changed": excerpt, "recorded_data_changes": recorded, "records": records},
                "other_model_version": previous,
            }
        )
    return found
