"""Reading OTLP/HTTP trace exports as the OpenTelemetry SDK's OTLP HTTP span exporter sends them.

The body is an ``ExportTraceServiceRequest``: binary protobuf (``application/x-protobuf``) or OTLP JSON
(``application/json``), optionally ``Content-Encoding: gzip``. OTLP JSON is protobuf's JSON mapping with OTLP's own
rules: trace and span ids are hex strings (not base64), enum values may be integers, 64-bit integers may be strings
or numbers, and unknown fields are ignored. The answer is an ``ExportTraceServiceResponse`` in the request's
encoding.

A span is read into ``SpanFacts`` when it carries ``gen_ai.operation.name`` (the GenAI semantic conventions); other
spans are ignored. Attributes of the span's resource count too (``portal.use_case`` and ``portal.environment`` are
usually set once there), the span's own win. A GenAI span that cannot become a record is a ``SpanProblem``: it is
counted as rejected in the answer's ``partial_success``, and the others are kept.
"""

import base64
import datetime
import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from accounts.api.parsers import MAX_JSON_DEPTH, TOO_DEEP
from audit.canonical import json_depth

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

#: The portal's own span attributes, beside the GenAI semantic conventions' ``gen_ai.*``.
USE_CASE = "portal.use_case"
ENVIRONMENT = "portal.environment"
MODEL_VERSION = "portal.model_version"
PROMPT_CATEGORY = "portal.prompt_category"
POLICY_CHECKS = "portal.policy_checks"
RESPONSE_CLASSIFICATION = "portal.response_classification"
END_USER = "portal.end_user"
OPERATION = "gen_ai.operation.name"


@dataclass(slots=True)
class SpanFacts:
    """What one GenAI span says, before the portal resolves its use case and versions. The prompt and answer
    texts live here only until they are hashed."""

    trace_id: str
    span_id: str
    use_case: str
    environment: str
    model_version: str
    operation: str
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    request_model: str = ""
    response_model: str = ""
    response_id: str = ""
    conversation_id: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reasons: list[str] = field(default_factory=list)
    prompt_category: str = ""
    policy_checks: list[str] = field(default_factory=list)
    response_classification: str = ""
    end_user: str = ""
    prompt: str | None = None
    answer: str | None = None

    @property
    def label(self) -> str:
        """The span as a problem names it (made only when one is named)."""
        return _label(self.trace_id, self.span_id)


def _label(trace_id: str, span_id: str) -> str:
    return f"span {span_id or '(no id)'} of trace {trace_id or '(no id)'}"


@dataclass
class SpanProblem:
    label: str
    message: str

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _hex_ids_as_base64(document: Any) -> None:
    """OTLP JSON's hex ids as protobuf's JSON mapping reads bytes (base64); an id that is not hex becomes empty,
    which the span's own check then names."""
    spans = [
        span
        for resource in _items(document, "resourceSpans")
        for scope in _items(resource, "scopeSpans")
        for span in _items(scope, "spans")
    ]
    for item in spans + [link for span in spans for link in _items(span, "links")]:
        for name in ("traceId", "spanId", "parentSpanId"):
            value = item.get(name)
            if isinstance(value, str):
                try:
                    item[name] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    item[name] = ""


def _items(container: Any, name: str) -> list[Any]:
    value = container.get(name) if isinstance(container, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def parse_request(body: bytes, *, kind: str) -> ExportTraceServiceRequest:
    """The export request in ``body``; a body that is not one is a ``ValidationError`` (400)."""
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError) as error:
            raise ValidationError({"body": f"The body is not an OTLP ExportTraceServiceRequest: {error}."}) from None
        return request
    try:
        document = json.loads(body)
    except RecursionError:
        raise ValidationError({"body": TOO_DEEP}) from None
    except ValueError as error:
        raise ValidationError({"body": f"The body is not valid JSON: {error}."}) from None
    if json_depth(document, stop_after=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValidationError({"body": TOO_DEEP})
    resource_spans = document.get("resourceSpans", []) if isinstance(document, dict) else None
    # Checked here: protobuf's JSON parser lets a repeated message field's non-object items through.
    if not isinstance(resource_spans, list) or not all(isinstance(item, dict) for item in resource_spans):
        raise ValidationError(
            {
                "body": "The body is not an OTLP JSON ExportTraceServiceRequest (an object, resourceSpans a list of "
                "objects)."
            }
        )
    _hex_ids_as_base64(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError) as error:
        raise ValidationError({"body": f"The body is not an OTLP JSON ExportTraceServiceRequest: {error}."}) from None
    return request


def response_body(*, rejected: int, message: str, kind: str) -> bytes:
    answer = ExportTraceServiceResponse()
    if rejected:
        answer.partial_success.rejected_spans = rejected
        answer.partial_success.error_message = message
    if kind == PROTOBUF:
        return answer.SerializeToString()
    return json.dumps(json_format.MessageToDict(answer)).encode()


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "array_value":
        items = value.array_value.values
        return [item.string_value if item.HasField("string_value") else _value(item) for item in items]
    if kind == "kvlist_value":
        return {item.key: _value(item.value) for item in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _time(nanos: int) -> datetime.datetime | None:
    """The span time ``nanos`` (nanoseconds since the epoch) to the microsecond, or None when unset or past what a
    calendar holds. Added to the epoch rather than converted from a timestamp: half the cost, two per span."""
    if not nanos:
        return None
    try:
        return _EPOCH + datetime.timedelta(microseconds=nanos // 1000)
    except OverflowError:
        return None


class _Attributes:
    """A span's attribute values as ``read_spans`` keeps them (strings, and any other kind still as its
    ``AnyValue``), read with the problems they have."""

    def __init__(self, values: dict[str, Any], problems: list[str]) -> None:
        self.values, self.problems = values, problems

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return _value(value) if value.__class__ is AnyValue else value

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str:
        value = self.get(name)
        if value is None or value == "":
            if required:
                self.problems.append(f"{name} is missing")
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{name} is not a string")
            return ""
        if len(value) > max_length or "\x00" in value:
            self.problems.append(f"{name} is longer than {max_length} characters or holds a NUL character")
            return ""
        return value

    def count(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            self.problems.append(f"{name} is not a token count")
            return None
        return value

    def texts(self, name: str) -> list[str]:
        value = self.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) and len(item) <= 200 for item in value):
            self.problems.append(f"{name} is not a list of strings")
            return []
        return [item for item in value if "\x00" not in item]

    def messages(self, name: str, roles: tuple[str, ...]) -> str | None:
        """The text parts of the messages in ``name`` (a JSON string, as the GenAI conventions record them on a
        span) of the given roles, joined by new lines; None when the span does not carry them."""
        value = self.get(name)
        if value is None:
            return None
        try:
            messages = orjson.loads(value) if isinstance(value, str) else value
        except orjson.JSONDecodeError:
            self.problems.append(f"{name} is not JSON")
            return None
        if not isinstance(messages, list):
            self.problems.append(f"{name} is not a list of messages")
            return None
        texts = []
        for message in messages:
            if not isinstance(message, dict) or (roles and message.get("role") not in roles):
                continue
            for part in message.get("parts") or []:
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("content"), str):
                    texts.append(part["content"])
        return "\n".join(texts)


#: The text attributes of ``SpanFacts``: (field, attribute, required, longest).
_TEXTS = (
    ("use_case", USE_CASE, True, 80),
    ("environment", ENVIRONMENT, True, 10),
    ("model_version", MODEL_VERSION, False, 100),
    ("operation", OPERATION, True, 50),
    ("request_model", "gen_ai.request.model", False, 200),
    ("response_model", "gen_ai.response.model", False, 200),
    ("response_id", "gen_ai.response.id", False, 200),
    ("conversation_id", "gen_ai.conversation.id", False, 200),
    ("prompt_category", PROMPT_CATEGORY, False, 100),
    ("response_classification", RESPONSE_CLASSIFICATION, False, 20),
    ("end_user", END_USER, False, 1000),
)
_NO_TRACE, _NO_SPAN = bytes(16), bytes(8)


def read_spans(request: ExportTraceServiceRequest) -> list[SpanFacts | SpanProblem]:
    """Every GenAI span of the request, read or with what is wrong with it, in the order they were sent.

    A gateway sends about seventeen attributes on each of a thousand spans per request: this loop is most of what
    reading a request costs, so it asks each value only for its string (what almost every attribute is; "" for any
    other kind) and keeps any other as its ``AnyValue``, which ``_Attributes`` converts only if it is read."""
    read: list[SpanFacts | SpanProblem] = []
    for resource_spans in request.resource_spans:
        resource = _strings_first(resource_spans.resource.attributes)
        # Only a span's own operation makes it an answer; the resource's would never be read.
        resource.pop(OPERATION, None)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                values = resource.copy()  # the span's own attributes win
                for item in span.attributes:
                    value = item.value
                    values[item.key] = value.string_value or value
                if OPERATION in values:  # a span without the GenAI operation is not an answer: ignored
                    read.append(_read_span(span, values))
    return read


def _strings_first(attributes: Any) -> dict[str, Any]:
    """A resource's attributes as ``read_spans`` keeps a span's (which it reads inline: a call per span costs)."""
    values = {}
    for item in attributes:
        value = item.value
        values[item.key] = value.string_value or value
    return values


def _read_span(span: Any, values: dict[str, Any]) -> SpanFacts | SpanProblem:
    """The span's facts; what is wrong with it when anything is. A value that passes at a glance is taken as it is;
    any other goes through ``_Attributes``, which names the problem."""
    trace_bytes, span_bytes = span.trace_id, span.span_id
    problems: list[str] = []
    if len(trace_bytes) != 16 or trace_bytes == _NO_TRACE:
        problems.append("the trace id is not 16 bytes (32 hex digits), not all zero")
    if len(span_bytes) != 8 or span_bytes == _NO_SPAN:
        problems.append("the span id is not 8 bytes (16 hex digits), not all zero")
    started_at = _time(span.start_time_unix_nano)
    if started_at is None:
        problems.append("the span has no start time (or one no calendar holds)")
    attributes = _Attributes(values, problems)
    read: dict[str, Any] = {}
    for name, attribute, required, longest in _TEXTS:
        value = values.get(attribute)
        if value.__class__ is str and 0 < len(value) <= longest and "\x00" not in value:
            read[name] = value
        else:
            read[name] = attributes.text(attribute, required=required, max_length=longest)
    facts = SpanFacts(
        trace_id=trace_bytes.hex(),
        span_id=span_bytes.hex(),
        started_at=started_at,
        ended_at=_time(span.end_time_unix_nano),
        input_tokens=attributes.count("gen_ai.usage.input_tokens"),
        output_tokens=attributes.count("gen_ai.usage.output_tokens"),
        finish_reasons=attributes.texts("gen_ai.response.finish_reasons"),
        policy_checks=attributes.texts(POLICY_CHECKS),
        prompt=attributes.messages("gen_ai.input.messages", ("user",)),
        answer=attributes.messages("gen_ai.output.messages", ()),
        **read,
    )
    if problems:
        return SpanProblem(facts.label, "; ".join(problems))
    return facts
