"""Recording an OpenLineage RunEvent: the run, and when it completes, a draft dataset version per output with the
job as its transformation step; or, for a training job, its events handed to the registered training job handler
(``lineage.openlineage.training``). One transaction per event; the ledger names the service account; the version
and step are made by the lineage services, with their permission and state checks. See the package docstring
for how facets and datasets map."""

import hashlib
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.api.exceptions import CONFLICT, UNKNOWN_RECORD
from accounts.authz import require
from audit.audit_context import acting_as
from audit.canonical import canonical_bytes
from audit.ledger import ActionDenied, record_denial
from lineage.choices import DatasetVersionState, OpenLineageEventType, TransformationKind
from lineage.models import Dataset, DatasetVersion, OpenLineageRun, SourceSystem
from lineage.openlineage.events import ONCE, TERMINAL, DatasetRef, RunEvent
from lineage.openlineage.signals import run_completed
from lineage.openlineage.training import TrainingJob, check_training_job, is_training_job, training_job_handler
from lineage.services import MAX_PARAMETER_BYTES, dataset_version_create, transformation_step_add

ATTEMPTED = "openlineage_event_record"
NOT_REPORTED = "not reported"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_LISTED = 50


@dataclass
class RecordedEvent:
    """What an event did: ``recorded`` is False for an event received before (nothing was written)."""

    run: OpenLineageRun
    recorded: bool
    created_versions: list[DatasetVersion] = field(default_factory=list)


@dataclass(frozen=True)
class ResolvedInput:
    ref: DatasetRef
    version: DatasetVersion | None = None
    source_system: SourceSystem | None = None

    @property
    def governed_as(self) -> str:
        if self.version is not None:
            return self.version.identifier
        if self.source_system is not None:
            return f"source system {self.source_system.name}"
        return "not governed by the portal"


def openlineage_event_record(
    *, event: RunEvent, actor: AbstractBaseUser, use_case_ids: Collection[int]
) -> RecordedEvent:
    """Record one RunEvent reported by ``actor`` (a pipeline's service account), whose token reaches
    ``use_case_ids``: every output dataset must belong to one of them (a training job's use case, likewise)."""
    training = is_training_job(event)
    if training:
        check_training_job(event)
    with _refusals_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "lineage.add_datasetversion", attempted=ATTEMPTED)
        resolved = [_resolve_input(ref, f"inputs[{index}]") for index, ref in enumerate(event.inputs)]
        if not training:  # a training job's outputs are model weights, not datasets
            for index, ref in enumerate(event.outputs):
                _check_use_case(_output_dataset(ref, f"outputs[{index}]"), actor, use_case_ids)
        run = _locked_run(event)
        if run is None:
            run, inserted = _insert_run(event, actor)
            if inserted:
                return _after_merge(run, event, actor, use_case_ids, resolved)
        if (run.job_namespace, run.job_name) != (event.job_namespace, event.job_name):
            raise ValidationError(
                {
                    "run.runId": ValidationError(
                        f"This run id belongs to the job {run.job_namespace}/{run.job_name}; runs are unique.",
                        code=CONFLICT,
                    )
                }
            )
        if run.reported_by_id != actor.pk:
            raise ActionDenied(
                "Another service account reported this run; only it may add to it.",
                actor=actor,
                attempted=ATTEMPTED,
                obj=run,
            )
        if event.event_type in ONCE and event.event_type in run.received:
            return RecordedEvent(run=run, recorded=False)
        if event.event_type in TERMINAL and run.state in TERMINAL:
            raise ValidationError(
                {
                    "eventType": ValidationError(
                        f"This run already ended ({run.state} at {run.ended_at:%Y-%m-%d %H:%M} UTC).", code=CONFLICT
                    )
                }
            )
        before = _snapshot(run)
        _merge(run, event)
        if _snapshot(run) == before:
            return RecordedEvent(run=run, recorded=False)
        run.full_clean()
        run.save()
        return _after_merge(run, event, actor, use_case_ids, resolved)


def _after_merge(
    run: OpenLineageRun,
    event: RunEvent,
    actor: AbstractBaseUser,
    use_case_ids: Collection[int],
    resolved: list[ResolvedInput],
) -> RecordedEvent:
    created: list[DatasetVersion] = []
    if is_training_job(event):
        _hand_over_training_job(event, actor, use_case_ids, resolved)
    elif event.event_type == OpenLineageEventType.COMPLETE:
        created = _produce_versions(run, actor, use_case_ids)
        run_completed.send(sender=OpenLineageRun, run=run, dataset_versions=list(run.dataset_versions.all()))
    return RecordedEvent(run=run, recorded=True, created_versions=created)


def _hand_over_training_job(
    event: RunEvent, actor: AbstractBaseUser, use_case_ids: Collection[int], resolved: list[ResolvedInput]
) -> None:
    """The handler registers, completes or fails the training run, in this event's transaction; a refusal there
    undoes the event. A training run trains on dataset versions only, so every input must name one."""
    training_data: list[DatasetVersion] = []
    if event.event_type == OpenLineageEventType.START:
        ungoverned = {
            f"inputs[{index}].name": f"{item.ref.key} is {item.governed_as}; a training run trains on dataset "
            "versions only (name the dataset's slug, with its version in the dataset version facet)."
            for index, item in enumerate(resolved)
            if item.version is None
        }
        if ungoverned:
            raise ValidationError(ungoverned)
        training_data = list({item.version.pk: item.version for item in resolved if item.version}.values())
    handler = training_job_handler()
    assert handler is not None  # checked before the transaction began
    handler(
        TrainingJob(
            event_type=event.event_type,
            event_time=event.event_time,
            run_id=event.run_id,
            job=f"{event.job_namespace}/{event.job_name}",
            producer=event.producer,
            facet=event.training_facet or {},
            job_facets=event.facets,
            actor=actor,
            use_case_ids=use_case_ids,
            training_data=training_data,
        )
    )


@contextmanager
def _refusals_recorded() -> Iterator[None]:
    """Like ``denials_recorded``, for a service that calls other services: the refusal is recorded once all
    the work is undone, naming its record only if that record still exists (a version made in this event
    is gone again)."""
    try:
        yield
    except ActionDenied as denial:
        obj = denial.obj
        if obj is not None and not type(obj)._default_manager.filter(pk=obj.pk).exists():
            obj = None
        record_denial(actor=denial.actor, attempted=denial.attempted, obj=obj, reason=denial.reason)
        raise


# -- the run ------------------------------------------------------------------------------------------------------


def _locked_run(event: RunEvent) -> OpenLineageRun | None:
    return OpenLineageRun.objects.select_for_update().filter(run_id=event.run_id).first()


def _insert_run(event: RunEvent, actor: AbstractBaseUser) -> tuple[OpenLineageRun, bool]:
    """The run made from its first event; or, when another request recorded it a moment ago, that run, locked."""
    run = OpenLineageRun(
        run_id=event.run_id,
        job_namespace=event.job_namespace,
        job_name=event.job_name,
        state=event.event_type,
        reported_by=actor,
        producer=event.producer,
    )
    _merge(run, event)
    run.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        return _locked_run(event), False
    return run, True


def _merged_datasets(known: list[dict[str, Any]], refs: tuple[DatasetRef, ...]) -> list[dict[str, Any]]:
    """Datasets by namespace and name; a later event's facets add to (and replace) an earlier one's."""
    merged = {(item["namespace"], item["name"]): item for item in known}
    for ref in refs:
        earlier = merged.get((ref.namespace, ref.name), {}).get("facets", {})
        merged[(ref.namespace, ref.name)] = {
            "namespace": ref.namespace,
            "name": ref.name,
            "facets": {**earlier, **ref.facets},
        }
    return list(merged.values())


def _merge(run: OpenLineageRun, event: RunEvent) -> None:
    run.job_facets = {**run.job_facets, **event.facets}
    run.inputs = _merged_datasets(run.inputs, event.inputs)
    run.outputs = _merged_datasets(run.outputs, event.outputs)
    if event.event_type in ONCE:
        run.received = sorted({*run.received, event.event_type})
    if event.event_type == OpenLineageEventType.START and run.started_at is None:
        run.started_at = event.event_time
    if event.event_type in TERMINAL:
        run.state = event.event_type
        run.ended_at = event.event_time
    elif event.event_type == OpenLineageEventType.RUNNING and run.state not in TERMINAL:
        run.state = OpenLineageEventType.RUNNING


def _snapshot(run: OpenLineageRun) -> bytes:
    return canonical_bytes(
        [run.state, run.received, run.started_at, run.ended_at, run.job_facets, run.inputs, run.outputs]
    )


# -- datasets -----------------------------------------------------------------------------------------------------


def _output_dataset(ref: DatasetRef, where: str) -> Dataset:
    dataset = Dataset.objects.filter(slug=ref.name).first()
    if dataset is None:
        raise ValidationError(
            {
                f"{where}.name": ValidationError(
                    f"No dataset {ref.name!r} is registered. An output's OpenLineage name is the slug of a dataset a "
                    "data steward registered; register it, then send the event again.",
                    code=UNKNOWN_RECORD,
                )
            }
        )
    return dataset


def _check_use_case(dataset: Dataset, actor: AbstractBaseUser, use_case_ids: Collection[int]) -> None:
    if dataset.use_case_id is None or dataset.use_case_id not in use_case_ids:
        raise ActionDenied(
            f"This token is not issued for the use case of the dataset {dataset}.",
            actor=actor,
            attempted=ATTEMPTED,
            obj=dataset,
        )


def _resolve_input(ref: DatasetRef, where: str) -> ResolvedInput:
    """A dataset version, a source system, or neither (kept as reported)."""
    name, wanted = ref.name, ref.facets.get("version")
    dataset = Dataset.objects.filter(slug=name).first()
    if dataset is None and "@" in name:
        # The dataset named with the version read, as the version facet would give it: a number or a digest.
        slug, _at, version = name.rpartition("@")
        dataset = Dataset.objects.filter(slug=slug).first()
        wanted = version if dataset is not None else wanted
    if dataset is not None:
        return ResolvedInput(ref=ref, version=_input_version(dataset, wanted, where))
    source_name = ref.facets.get("dataSource", {}).get("name")
    for candidate in (source_name, ref.name, ref.namespace):
        if candidate and (system := SourceSystem.objects.filter(name=candidate).first()) is not None:
            return ResolvedInput(ref=ref, source_system=system)
    return ResolvedInput(ref=ref)


def _input_version(dataset: Dataset, wanted: str | None, where: str) -> DatasetVersion:
    """The version named by the ``version`` facet (number, ``slug@n`` or content digest), else the latest one
    approved for training."""
    versions = dataset.versions.select_related("dataset").order_by("-number")
    if wanted is None:
        version = versions.filter(state=DatasetVersionState.APPROVED).first()
        if version is None:
            raise ValidationError(
                {
                    f"{where}.facets.version": f"{dataset} has no version approved for training; name the version "
                    "read in the dataset version facet (datasetVersion: its number or content digest)."
                }
            )
        return version
    text = wanted.strip().lower().removeprefix("sha256:")
    named = versions.filter_identifier(text)  # ``slug@n``: only this dataset's versions are searched
    if named is not None:
        version = named.first()
    elif text.isdigit():
        version = versions.filter(number=int(text)).first()
    elif SHA256_HEX.match(text):
        version = versions.filter(content_digest=text).first()
    else:
        version = None
    if version is None:
        raise ValidationError(
            {f"{where}.facets.version": f"{dataset} has no version {wanted!r} (give its number or content digest)."}
        )
    return version


# -- the completed run's outputs ----------------------------------------------------------------------------------


def _produce_versions(
    run: OpenLineageRun, actor: AbstractBaseUser, use_case_ids: Collection[int]
) -> list[DatasetVersion]:
    """Each output becomes a draft version derived from the run's input versions (or, if its content is a
    version already registered, is linked as that version, untouched)."""
    inputs = [_resolve_input(_ref(item), f"inputs[{index}]") for index, item in enumerate(run.inputs)]
    parents = list({resolved.version.pk: resolved.version for resolved in inputs if resolved.version}.values())
    created = []
    for index, item in enumerate(run.outputs):
        ref, where = _ref(item), f"outputs[{index}]"
        dataset = _output_dataset(ref, where)
        _check_use_case(dataset, actor, use_case_ids)
        digest = _content_digest(ref, where)
        version = dataset.versions.filter(content_digest=digest).order_by("-number").first()
        if version is None:
            statistics = ref.facets.get("outputStatistics", {})
            missing = [name for name in ("rowCount", "size") if name not in statistics]
            if missing:
                raise ValidationError(
                    {
                        f"{where}.outputFacets.outputStatistics": f"{ref.key}: a completed output needs "
                        f"{' and '.join(missing)} in its outputStatistics facet."
                    }
                )
            version = dataset_version_create(
                dataset=dataset,
                actor=actor,
                content_digest=digest,
                row_count=statistics["rowCount"],
                size_bytes=statistics["size"],
                storage_uri=f"{ref.namespace.rstrip('/')}/{ref.name}"[:1000],
                parents=parents,
                notes=_notes(run, ref, inputs),
            )
            transformation_step_add(
                version=version,
                actor=actor,
                kind=_step_kind(run),
                tool=_tool(run),
                code_version=_code_version(run),
                parameters=_parameters(run, ref, inputs),
                input_digest=parents[0].content_digest if len(parents) == 1 else "",
                output_digest=digest,
            )
            created.append(version)
        run.dataset_versions.add(version)
    return created


def _ref(item: dict[str, Any]) -> DatasetRef:
    return DatasetRef(namespace=item["namespace"], name=item["name"], facets=item.get("facets", {}))


def _content_digest(ref: DatasetRef, where: str) -> str:
    digest = str(ref.facets.get("version", "")).strip().lower().removeprefix("sha256:")
    if not SHA256_HEX.match(digest):
        raise ValidationError(
            {
                f"{where}.facets.version": f"{ref.key}: a completed output needs the SHA-256 of its content "
                "(64 hexadecimal digits) as the dataset version facet's datasetVersion."
            }
        )
    return digest


def _step_kind(run: OpenLineageRun) -> str:
    """The ``jobType`` facet's jobType when it names a kind of transformation (REDACT, DEDUPLICATE ...);
    otherwise a filter, the general case of selecting data from its inputs (the parameters say it was not
    stated)."""
    reported = str(run.job_facets.get("jobType", {}).get("jobType", "")).lower()
    return reported if reported in TransformationKind.values else TransformationKind.FILTER


def _tool(run: OpenLineageRun) -> str:
    integration = run.job_facets.get("jobType", {}).get("integration") or "OpenLineage"
    return f"{integration}: {run.job_namespace}/{run.job_name}"[:200]


def _code_version(run: OpenLineageRun) -> str:
    location = run.job_facets.get("sourceCodeLocation", {})
    return (location.get("version") or location.get("tag") or location.get("branch") or NOT_REPORTED)[:100]


def _parameters(run: OpenLineageRun, output: DatasetRef, inputs: list[ResolvedInput]) -> dict[str, Any]:
    facets = run.job_facets
    reported_kind = facets.get("jobType", {}).get("jobType")
    described: dict[str, Any] = {
        "run_id": str(run.run_id),
        "job": f"{run.job_namespace}/{run.job_name}",
        "producer": run.producer,
        "output": output.key,
        "kind_stated": bool(reported_kind and reported_kind.lower() in TransformationKind.values),
        **{
            name: facets[key]
            for key, name in (
                ("jobType", "job_type"),
                ("sourceCodeLocation", "source_code_location"),
                ("parent", "parent_run"),
                ("processing_engine", "processing_engine"),
            )
            if key in facets
        },
    }
    if "sql" in facets:
        described["sql_sha256"] = hashlib.sha256(facets["sql"]["query"].encode()).hexdigest()
    described["inputs"] = [
        {"dataset": resolved.ref.key[:300], "governed_as": resolved.governed_as[:300]}
        for resolved in inputs[:MAX_LISTED]
    ]
    if len(canonical_bytes({"openlineage": described})) > MAX_PARAMETER_BYTES:
        described["inputs"] = f"{len(inputs)} inputs; see the lineage record's notes"
    return {"openlineage": described}


def _notes(run: OpenLineageRun, output: DatasetRef, inputs: list[ResolvedInput]) -> str:
    """What the pipeline reported, in words a reviewer reads on the version's page."""
    facets = run.job_facets
    lines = [
        f"Reported through OpenLineage by {run.producer or 'an unnamed producer'}: job "
        f"{run.job_namespace}/{run.job_name}, run {run.run_id}, output {output.key}.",
    ]
    if documentation := facets.get("documentation", {}).get("description"):
        lines.append(f"Job: {documentation}")
    if location := facets.get("sourceCodeLocation"):
        lines.append(
            "Source code: "
            + ", ".join(f"{key} {value}" for key, value in location.items() if key in ("url", "path", "version"))
        )
    if source := output.facets.get("dataSource"):
        lines.append("Data source: " + ", ".join(source.values()))
    if schema := output.facets.get("schema"):
        lines.append("Schema: " + ", ".join(" ".join(column.values()) for column in schema))
    lines.append("Inputs:")
    lines.extend(f"- {resolved.ref.key}: {resolved.governed_as}" for resolved in inputs)
    if not inputs:
        lines.append("- none reported")
    sources = [resolved.source_system.name for resolved in inputs if resolved.source_system is not None]
    if sources:
        lines.append(
            f"Source systems read ({', '.join(sources)}): add each as a source with its legal basis before submitting."
        )
    if sql := facets.get("sql"):
        lines.append(f"SQL ({sql.get('dialect', 'dialect not stated')}):\n{sql['query']}")
    return "\n".join(lines)
