"""What two dataset versions say about their data, side by side: the facts reviewers sign off (sources with legal
basis, steps, sensitivity, retention, consent, policies), in words, for any number of versions in a fixed number of
queries, so comparing two model versions built from twenty datasets costs what comparing two built from one does."""

from collections import defaultdict
from collections.abc import Iterable

from lineage.models import DatasetVersion, LineageRecord, LineageSource, TransformationStep


def data_facts(version_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Dataset version id -> {fact: words}, for the versions asked for (a version without lineage has the version's own
    facts only). Five queries, however many versions."""
    ids = sorted(set(version_ids))
    facts: dict[int, dict[str, str]] = {
        pk: {
            "content digest": digest,
            "rows": f"{rows:,}",
            "size (bytes)": f"{size:,}",
            "sampling method": sampling or "none",
            "filters": filters or "none",
        }
        for pk, digest, rows, size, sampling, filters in DatasetVersion.objects.filter(pk__in=ids).values_list(
            "pk", "content_digest", "row_count", "size_bytes", "sampling_method", "filters"
        )
    }
    records = LineageRecord.objects.filter(version_id__in=ids)
    record_version = {}
    for record in records.only(
        "pk",
        "version_id",
        "sensitivity",
        "data_categories",
        "consent_scope",
        "retention_days",
        "retention_basis",
        "privacy_controls",
        "dpia_reference",
    ):
        record_version[record.pk] = record.version_id
        facts[record.version_id].update(
            {
                "sensitivity": record.get_sensitivity_display(),
                "data categories": ", ".join(sorted(record.data_categories)) or "none",
                "consent scope": record.consent_scope or "none",
                "retention": f"{record.retention_days} days" if record.retention_days is not None else "not set",
                "retention basis": record.retention_basis or "none",
                "privacy controls": ", ".join(sorted(record.privacy_controls)) or "none",
                "DPIA reference": record.dpia_reference or "none",
            }
        )
    policies: dict[int, list[str]] = defaultdict(list)
    links = LineageRecord.policies.through.objects.filter(lineagerecord_id__in=record_version)
    for record_id, code in links.values_list("lineagerecord_id", "policy__code"):
        policies[record_version[record_id]].append(code)
    sources: dict[int, list[str]] = defaultdict(list)
    for source in (
        LineageSource.objects.filter(record_id__in=record_version).select_related("source_system").order_by("pk")
    ):
        article9 = f", Art. 9 {source.article9_condition}" if source.special_category else ""
        sources[record_version[source.record_id]].append(
            f"{source.source_system.name}: {source.get_legal_basis_display()}{article9}, "
            f"{source.period_start} to {source.period_end}"
        )
    steps: dict[int, list[str]] = defaultdict(list)
    for step in TransformationStep.objects.filter(record_id__in=record_version).order_by("record_id", "position"):
        steps[record_version[step.record_id]].append(
            f"{step.position}. {step.get_kind_display()} ({step.tool} {step.code_version}) -> {step.output_digest[:16]}"
        )
    for version_id in record_version.values():
        facts[version_id]["policies"] = ", ".join(sorted(policies[version_id])) or "none"
        facts[version_id]["sources"] = "; ".join(sources[version_id]) or "none"
        facts[version_id]["steps"] = "; ".join(steps[version_id]) or "none"
    return facts
