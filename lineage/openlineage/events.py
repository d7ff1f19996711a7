"""Reading an OpenLineage RunEvent: the body as the client sends it (JSON, optionally gzip), checked field by
field, and the facets the portal uses, each cut down to the fields it keeps and bounded in size.

Field names follow the OpenLineage 2-0-2 spec (``RunEvent``, ``Run``, ``Job``, ``InputDataset``,
``OutputDataset``) and its standard facets as the ``openlineage-python`` client's generated models name them.
Errors name the field with its path (``run.runId``, ``outputs[1].name``) so the pipeline knows what to fix.
"""

import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from accounts.api.parsers import inflate
from accounts.api.serializers import StrictSerializer
from lineage.choices import OpenLineageEventType

MAX_TEXT = 500
MAX_DATASETS = 200
MAX_SQL = 20_000
MAX_DESCRIPTION = 2_000
MAX_SCHEMA_FIELDS = 500
MAX_SAFE_INTEGER = 2**53 - 1
#: Event types that happen once in a run's life; RUNNING and OTHER may come any number of times.
ONCE = frozenset(
    {
        OpenLineageEventType.START,
        OpenLineageEventType.COMPLETE,
        OpenLineageEventType.FAIL,
        OpenLineageEventType.ABORT,
    }
)
TERMINAL = frozenset({OpenLineageEventType.COMPLETE, OpenLineageEventType.FAIL, OpenLineageEventType.ABORT})
#: The portal's custom run facet of a training job (``lineage.openlineage.training``): kept whole, not summarised,
#: for the handler that registers the training run to check field by field.
TRAINING_FACET = "portal_training"


@dataclass(frozen=True)
class DatasetRef:
    """An input or output dataset as reported: its OpenLineage identity and the facets the portal keeps."""

    namespace: str
    name: str
    facets: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class RunEvent:
    event_type: str
    event_time: datetime.datetime
    producer: str
    run_id: uuid.UUID
    job_namespace: str
    job_name: str
    facets: dict[str, Any]  # the job's and the run's facets, summarised
    inputs: tuple[DatasetRef, ...]
    outputs: tuple[DatasetRef, ...]
    training_facet: dict[str, Any] | None = None  # the ``portal_training`` run facet as sent, if it was


class _Facets(serializers.DictField):
    """A facets object; ``null`` is taken as none (the client sends ``None`` for an empty facet map)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, default=dict, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return super().to_internal_value(data) if data is not None else {}


class _DatasetIn(StrictSerializer):
    namespace = serializers.CharField(max_length=MAX_TEXT)
    name = serializers.CharField(max_length=MAX_TEXT)
    facets = _Facets()
    inputFacets = _Facets()  # the spec's camelCase field names
    outputFacets = _Facets()


class _RunIn(StrictSerializer):
    runId = serializers.UUIDField()
    facets = _Facets()


class _JobIn(StrictSerializer):
    namespace = serializers.CharField(max_length=MAX_TEXT)
    name = serializers.CharField(max_length=MAX_TEXT)
    facets = _Facets()


class _Datasets(serializers.ListField):
    def __init__(self) -> None:
        super().__init__(child=_DatasetIn(), required=False, allow_null=True, default=list, max_length=MAX_DATASETS)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        return super().to_internal_value(data) if data is not None else []


class RunEventIn(StrictSerializer):
    """The fields of a RunEvent the portal needs; everything else in the event is ignored."""

    eventType = serializers.ChoiceField(
        choices=OpenLineageEventType.values,
        error_messages={"invalid_choice": f"Unknown event type; send one of {', '.join(OpenLineageEventType.values)}."},
    )
    eventTime = serializers.DateTimeField()
    producer = serializers.CharField(max_length=MAX_TEXT)
    schemaURL = serializers.CharField(max_length=MAX_TEXT)
    run = _RunIn()
    job = _JobIn()
    inputs = _Datasets()
    outputs = _Datasets()


def decode_body(raw: bytes, *, content_encoding: str, limit: int) -> Any:
    """The JSON document in the body; gzip (the client's ``compression: gzip``) is inflated to at most ``limit``
    bytes, so a small compressed body cannot expand without bound."""
    raw = inflate(raw, content_encoding=content_encoding, limit=limit)
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValidationError({"body": "The JSON is nested too deeply."}) from None
    except UnicodeDecodeError:
        raise ValidationError({"body": "The body is not UTF-8 text."}) from None
    except json.JSONDecodeError as error:
        raise ValidationError(
            {"body": f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."}
        ) from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise ValidationError({"body": f"The body cannot be read as JSON: {error}."}) from None


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as ``{"run.runId": [...], "outputs[1].name": [...]}``."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for field, value in errors.items():
            if isinstance(field, int):
                path = f"{prefix}[{field}]"
            elif field == "non_field_errors":
                path = prefix
            else:
                path = f"{prefix}.{field}" if prefix else str(field)
            flat.update(_flatten(value, path))
        return flat
    if isinstance(errors, list) and any(isinstance(item, dict) for item in errors):
        flat = {}
        for index, value in enumerate(errors):
            if value:
                flat.update(_flatten(value, f"{prefix}[{index}]"))
        return flat
    messages = errors if isinstance(errors, list) else [errors]
    return {prefix or "body": [str(message) for message in messages]}


def parse_run_event(document: Any) -> RunEvent:
    """The RunEvent in ``document``, or a ``ValidationError`` naming every field that is missing or wrong."""
    if not isinstance(document, dict):
        raise ValidationError({"body": "Send one OpenLineage RunEvent as a JSON object."})
    if "run" not in document and ("dataset" in document or "job" in document):
        raise ValidationError(
            {"run": "This endpoint records RunEvents; a DatasetEvent or JobEvent has no run and is not recorded."}
        )
    given = RunEventIn(data=document)
    if not given.is_valid():
        raise ValidationError(_flatten(given.errors))
    data = given.validated_data
    event_time = data["eventTime"]  # a time without an offset is taken as UTC
    training_facet = (data["run"].get("facets") or {}).get(TRAINING_FACET)
    if training_facet is not None and not isinstance(training_facet, dict):
        raise ValidationError({f"run.facets.{TRAINING_FACET}": "Send this facet as a JSON object."})
    facets = {
        **summarise_job_facets(data["job"].get("facets") or {}),
        **summarise_run_facets(data["run"].get("facets") or {}),
    }
    return RunEvent(
        event_type=data["eventType"],
        event_time=event_time.astimezone(datetime.UTC),
        producer=data["producer"],
        run_id=data["run"]["runId"],
        job_namespace=data["job"]["namespace"],
        job_name=data["job"]["name"],
        facets=facets,
        # ``null`` lists and facet maps are taken as empty: DRF hands a null through without converting it.
        inputs=tuple(_dataset(item, "inputFacets") for item in data.get("inputs") or ()),
        outputs=tuple(_dataset(item, "outputFacets") for item in data.get("outputs") or ()),
        training_facet=training_facet,
    )


def _dataset(item: dict[str, Any], own_facets: str) -> DatasetRef:
    return DatasetRef(
        namespace=item["namespace"],
        name=item["name"],
        facets=summarise_dataset_facets({**(item.get("facets") or {}), **(item.get(own_facets) or {})}),
    )


# -- facets: what each keeps ------------------------------------------------------------------------------------


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    # PostgreSQL stores no NUL, and UTF-8 (the database's and canonical JSON's) has no lone surrogates.
    return "".join(char for char in str(value)[:limit] if char != "\x00" and not "\ud800" <= char <= "\udfff")


def _count(value: Any) -> int | None:
    """A non-negative whole number that canonical JSON (the ledger's bytes) can hold exactly."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER:
        return value
    return None


def _pick(facet: Any, fields: tuple[str, ...], limit: int = MAX_TEXT) -> dict[str, str]:
    if not isinstance(facet, dict):
        return {}
    picked = {field: _text(facet.get(field), limit) for field in fields}
    return {field: value for field, value in picked.items() if value}


def summarise_job_facets(facets: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if job_type := _pick(facets.get("jobType"), ("processingType", "integration", "jobType")):
        kept["jobType"] = job_type
    if sql := _pick(facets.get("sql"), ("query",), MAX_SQL):  # a dialect without its query says nothing
        kept["sql"] = sql | _pick(facets.get("sql"), ("dialect",))
    location_fields = ("type", "url", "repoUrl", "path", "version", "tag", "branch", "pullRequestNumber")
    if location := _pick(facets.get("sourceCodeLocation"), location_fields):
        kept["sourceCodeLocation"] = location
    if source_code := _pick(facets.get("sourceCode"), ("language",)):
        kept["sourceCode"] = source_code
    if documentation := _pick(facets.get("documentation"), ("description",), MAX_DESCRIPTION):
        kept["documentation"] = documentation
    return kept


def summarise_run_facets(facets: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    parent = facets.get("parent")
    if isinstance(parent, dict):
        picked = {
            "runId": _text((parent.get("run") or {}).get("runId")) if isinstance(parent.get("run"), dict) else None,
            **{
                f"job{field.title()}": _text(parent["job"].get(field))
                for field in ("namespace", "name")
                if isinstance(parent.get("job"), dict)
            },
        }
        if picked := {field: value for field, value in picked.items() if value}:
            kept["parent"] = picked
    if error := _pick(facets.get("errorMessage"), ("message",), MAX_DESCRIPTION) | _pick(
        facets.get("errorMessage"), ("programmingLanguage",)
    ):
        kept["errorMessage"] = error
    engine_fields = ("name", "version", "openlineageAdapterVersion")
    if engine := _pick(facets.get("processing_engine"), engine_fields):
        kept["processing_engine"] = engine
    return kept


def summarise_dataset_facets(facets: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if source := _pick(facets.get("dataSource"), ("name", "uri")):
        kept["dataSource"] = source
    schema = facets.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
        fields = [
            {key: value for key in ("name", "type") if (value := _text(field.get(key), 200))}
            for field in schema["fields"][:MAX_SCHEMA_FIELDS]
            if isinstance(field, dict) and field.get("name")
        ]
        if fields:
            kept["schema"] = fields
    if version := _pick(facets.get("version"), ("datasetVersion",)):
        kept["version"] = version["datasetVersion"]
    statistics = facets.get("outputStatistics")
    if isinstance(statistics, dict):
        counted = {key: _count(statistics.get(key)) for key in ("rowCount", "size", "fileCount")}
        if counted := {key: value for key, value in counted.items() if value is not None}:
            kept["outputStatistics"] = counted
    return kept
