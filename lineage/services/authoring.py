"""Authoring lineage: registering sources, datasets, versions and their lineage, and submitting a version for
review. Every function checks role permission and state and leaves its ledger entries."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import require
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.inputs import bounded_json
from governance.models import Policy, UseCase
from lineage.choices import (
    Article9Condition,
    DataCategory,
    DatasetVersionState,
    PrivacyControl,
    Sensitivity,
    SourceStatus,
    TransformationKind,
)
from lineage.graph import lock_graph, upstream_version_ids
from lineage.models import (
    Dataset,
    DatasetVersion,
    LineageEdge,
    LineageRecord,
    LineageSource,
    LineageTemplate,
    SourceSystem,
    TransformationStep,
)
from lineage.models.synthetic import SyntheticMarker
from lineage.selectors import submission_problems
from lineage.services.reviews import dataset_version_assign_next_reviewer

#: Transformation parameters are configuration, not data: bounded in size and nesting.
MAX_PARAMETER_BYTES = 16 * 1024
MAX_PARAMETER_DEPTH = 8
RECORD_FIELDS = (
    "sensitivity",
    "data_categories",
    "consent_scope",
    "retention_days",
    "retention_basis",
    "privacy_controls",
    "dpia_reference",
    "notes",
)


def _choices(values: Any, allowed: list[str], field: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise ValidationError({field: "Give a list."})
    unknown = sorted({str(value) for value in values} - set(allowed))
    if unknown:
        raise ValidationError({field: f"Unknown values: {', '.join(unknown)}."})
    return sorted({str(value) for value in values})


def source_system_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    kind: str,
    owner: AbstractBaseUser,
    default_retention_days: int,
    data_categories: list[str] = (),
    description: str = "",
) -> SourceSystem:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "lineage.add_sourcesystem", attempted="source_system_create")
        source = SourceSystem(
            name=name,
            kind=kind,
            owner=owner,
            default_retention_days=default_retention_days,
            data_categories=_choices(list(data_categories), DataCategory.values, "data_categories"),
            description=description,
        )
        source.full_clean()
        source.save()
        return source


def dataset_create(
    *,
    actor: AbstractBaseUser,
    slug: str,
    name: str,
    steward: AbstractBaseUser,
    use_case: UseCase | None = None,
    description: str = "",
) -> Dataset:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "lineage.add_dataset", attempted="dataset_create")
        dataset = Dataset(slug=slug, name=name, steward=steward, use_case=use_case, description=description)
        dataset.full_clean()
        dataset.save()
        return dataset


def same_content_refusal(*, dataset: Dataset, content_digest: str) -> ValidationError | None:
    """The refusal of a new version of ``dataset`` with content it already has a version of, naming that version;
    None if the content is new to the dataset. Forms may ask early; ``dataset_version_create`` decides."""
    number = dataset.versions.filter(content_digest=content_digest).values_list("number", flat=True).first()
    if number is None:
        return None
    existing = f"{dataset.slug}@{number}"
    return ValidationError(
        {
            "content_digest": f"{existing} already has this content (SHA-256 {content_digest}); "
            f"a new version needs new content. Use {existing}."
        }
    )


def dataset_version_create(
    *,
    dataset: Dataset,
    actor: AbstractBaseUser,
    content_digest: str,
    row_count: int,
    size_bytes: int,
    storage_uri: str,
    sampling_method: str = "",
    filters: str = "",
    template: LineageTemplate | None = None,
    parents: Iterable[DatasetVersion] = (),
    **lineage: Any,
) -> DatasetVersion:
    """A new draft version with its lineage record, pre-filled from ``template`` and then from ``lineage``.

    ``parents`` are the versions it derives from, recorded in the same transaction: a version is never left
    registered without the lineage its author gave it.

    Content the dataset already has a version of is refused, naming that version: the same data registered twice
    would be reviewed twice and could be approved under one identifier and rejected under another. Two requests
    with the same digest at once cannot both pass: the dataset's row lock orders them."""
    unknown = set(lineage) - set(RECORD_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown lineage fields: {', '.join(sorted(unknown))}.")
    defaults = dict(template.defaults) if template is not None else {}
    values = {**{k: v for k, v in defaults.items() if k in RECORD_FIELDS}, **lineage}
    sampling_method = sampling_method or defaults.get("sampling_method", "")
    filters = filters or defaults.get("filters", "")
    parents = list(parents)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        if parents:
            lock_graph()  # before the dataset's row, in the order lineage_edge_add takes them
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        require(actor, "lineage.add_datasetversion", attempted="dataset_version_create", obj=locked)
        if (refusal := same_content_refusal(dataset=locked, content_digest=content_digest)) is not None:
            raise refusal
        latest = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = DatasetVersion(
            dataset=locked,
            number=latest + 1,
            content_digest=content_digest,
            row_count=row_count,
            size_bytes=size_bytes,
            storage_uri=storage_uri,
            sampling_method=sampling_method,
            filters=filters,
            created_by=actor,
        )
        version.full_clean()
        version.save()
        record = LineageRecord(version=version, sensitivity=values.pop("sensitivity", Sensitivity.INTERNAL))
        _apply_record_values(record, values)
        record.full_clean()
        record.save()
        for parent in parents:
            lineage_edge_add(child=version, parent=parent, actor=actor)
        return version


def _apply_record_values(record: LineageRecord, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if name == "data_categories":
            value = _choices(value, DataCategory.values, name)
        elif name == "privacy_controls":
            value = _choices(value, PrivacyControl.values, name)
        setattr(record, name, value)


def _locked_draft(version: DatasetVersion, actor: AbstractBaseUser, attempted: str) -> DatasetVersion:
    locked = DatasetVersion.objects.select_for_update().select_related("dataset").get(pk=version.pk)
    require(actor, "lineage.change_datasetversion", attempted=attempted, obj=locked)
    if locked.state != DatasetVersionState.DRAFT:
        raise ActionDenied(
            f"{locked} is {locked.get_state_display().lower()}; only a draft can change. "
            "A submitted version is immutable: create a new version instead.",
            actor=actor,
            attempted=attempted,
            obj=locked,
        )
    return locked


def lineage_record_update(
    *, version: DatasetVersion, actor: AbstractBaseUser, policies: list[Policy] | None = None, **values: Any
) -> LineageRecord:
    unknown = set(values) - set(RECORD_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown lineage fields: {', '.join(sorted(unknown))}.")
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        _locked_draft(version, actor, "lineage_record_update")
        record = LineageRecord.objects.select_for_update().get(version=version)
        _apply_record_values(record, values)
        record.full_clean()
        record.save()
        if policies is not None:
            record.policies.set(policies)
        return record


def lineage_source_add(
    *,
    version: DatasetVersion,
    actor: AbstractBaseUser,
    source_system: SourceSystem,
    legal_basis: str,
    special_category: bool = False,
    article9_condition: str = Article9Condition.NONE,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    extract: str = "",
    languages: list[str] = (),
    **synthetic: Any,
) -> LineageSource:
    """Add a source to a draft version; ``synthetic`` takes the synthetic marker's fields (``synthetic``,
    ``generator_model``, ``generator_version``, ``prompt_template_digest``, ``synthetic_share``)."""
    _check_synthetic_names(synthetic)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_draft(version, actor, "lineage_source_add")
        source_system = SourceSystem.objects.get(pk=source_system.pk)  # its status now, not when it was read
        if source_system.status != SourceStatus.ACTIVE:
            raise ValidationError(
                {"source_system": f"{source_system} is decommissioned; no new data may come from it."}
            )
        source = LineageSource(
            record=locked.lineage,
            source_system=source_system,
            legal_basis=legal_basis,
            special_category=special_category,
            article9_condition=article9_condition,
            period_start=period_start,
            period_end=period_end,
            extract=extract,
            languages=list(languages),
            **synthetic,
        )
        source.full_clean()
        source.save()
        return source


def _check_synthetic_names(given: dict[str, Any]) -> None:
    unknown = set(given) - {"synthetic", *SyntheticMarker.SYNTHETIC_FIELDS}
    if unknown:
        raise TypeError(f"Unknown synthetic marker fields: {', '.join(sorted(unknown))}")


def clean_parameters(parameters: Any) -> dict[str, Any]:
    """Transformation parameters: a JSON object, at most 16 KiB canonical and 8 levels deep."""
    return bounded_json(
        parameters,
        field="parameters",
        label="Parameters",
        max_bytes=MAX_PARAMETER_BYTES,
        max_depth=MAX_PARAMETER_DEPTH,
    )


def transformation_step_add(
    *,
    version: DatasetVersion,
    actor: AbstractBaseUser,
    kind: str,
    tool: str,
    code_version: str,
    parameters: dict[str, Any] | None = None,
    input_digest: str = "",
    output_digest: str = "",
    **synthetic: Any,
) -> TransformationStep:
    """Append a step to a draft version's lineage; a step that generated data passes the synthetic marker's
    fields in ``synthetic``."""
    _check_synthetic_names(synthetic)
    if kind not in TransformationKind.values:
        raise ValidationError({"kind": f"Unknown transformation kind {kind!r}."})
    parameters = clean_parameters({} if parameters is None else parameters)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_draft(version, actor, "transformation_step_add")
        record = locked.lineage
        position = (record.steps.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        step = TransformationStep(
            record=record,
            position=position,
            kind=kind,
            tool=tool,
            code_version=code_version,
            parameters=parameters,
            input_digest=input_digest,
            output_digest=output_digest,
            **synthetic,
        )
        step.full_clean()
        step.save()
        return step


def lineage_edge_add(*, child: DatasetVersion, parent: DatasetVersion, actor: AbstractBaseUser) -> LineageEdge:
    """Record that ``child`` derives from ``parent``; refused if it would close a cycle."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        lock_graph()  # first, before any row lock: taken later it could deadlock with the parent's row
        locked = _locked_draft(child, actor, "lineage_edge_add")
        if parent.pk == locked.pk or locked.pk in upstream_version_ids([parent.pk]):
            raise ValidationError(
                f"{locked} cannot derive from {parent}: {parent} already derives from {locked}, "
                "and lineage must not go round in a circle."
            )
        edge, created = LineageEdge.objects.get_or_create(parent=parent, child=locked)
        if created:
            ledger.append(
                action=LedgerAction.UPDATE,
                obj=locked,
                payload={"derived_from": {"before": None, "after": parent.identifier}},
            )
        return edge


def dataset_version_submit(*, version: DatasetVersion, actor: AbstractBaseUser) -> DatasetVersion:
    """Freeze the draft and send it to Legal review."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_draft(version, actor, "dataset_version_submit")
        problems = submission_problems(locked)
        if problems:
            raise ValidationError(problems)
        locked.submit()
        locked.submitted_by = actor
        locked.submitted_at = timezone.now()
        locked.save()
        dataset_version_assign_next_reviewer(locked)  # the Legal stage's reviewer, round-robin; a steward may reassign
        return locked
