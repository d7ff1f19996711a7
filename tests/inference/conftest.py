"""The inference tests' world: the registry's (a use case, versions, deployments), a token of scope
``inference:write``, and GenAI spans made by the real OpenTelemetry SDK."""

import base64
import datetime
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from registry.choices import Environment
from registry.models import Deployment, ModelVersion
from tests.api.conftest import Pipeline, issue, world  # noqa: F401 - fixtures

URL = "/api/v1/otlp/v1/traces"
PROMPT = "My card 4111 1111 1111 1111 was charged twice for invoice 8812, why?"
ANSWER = "I am sorry about the double charge on invoice 8812. A refund of the second charge is on its way."


@pytest.fixture
def intake(world, issue) -> Pipeline:  # noqa: F811
    return issue(scopes=["inference:write"])


def two_versions_in_prod(world) -> tuple[ModelVersion, ModelVersion, Deployment]:  # noqa: F811
    first, second = world.model(), world.model()
    world.promote(first, Environment.PROD)
    world.promote(second, Environment.PROD)
    return first, second, Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)


def messages(role: str, text: str) -> str:
    """``gen_ai.input.messages`` / ``gen_ai.output.messages`` as the GenAI conventions record them on a span."""
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def genai_attributes(version: str = "", *, prompt: str = PROMPT, answer: str = ANSWER, **extra: Any) -> dict:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "support-assistant",
        "gen_ai.response.model": "support-assistant",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.conversation.id": "conv-1",
        "gen_ai.usage.input_tokens": 42,
        "gen_ai.usage.output_tokens": 17,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.input.messages": messages("user", prompt),
        "gen_ai.output.messages": messages("assistant", answer),
        "portal.prompt_category": "billing_dispute",
        "portal.policy_checks": ["pci_redaction", "disclaimer"],
        "portal.response_classification": "pass",
        "portal.end_user": "customer-4711",
    }
    if version:
        attributes["portal.model_version"] = version
    attributes.update(extra)
    return {name: value for name, value in attributes.items() if value is not None}


def resource(use_case: str = "support-assistant", environment: str = "prod") -> Resource:
    return Resource.create(
        {"service.name": "support-gateway", "portal.use_case": use_case, "portal.environment": environment}
    )


class Spans:
    """GenAI spans made by a real SDK tracer and kept in memory, encoded as its OTLP exporter encodes them."""

    def __init__(self, **resource_attributes: str) -> None:
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider(resource=resource(**resource_attributes))
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("support-gateway")

    def add(self, *, name: str = "chat support-assistant", at: datetime.datetime | None = None, **attributes: Any):
        start = int(at.timestamp() * 1e9) if at else None
        self.tracer.start_span(name, start_time=start, attributes=attributes).end()
        return self

    @property
    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.memory.get_finished_spans()

    def protobuf(self) -> bytes:
        return encode_spans(self.finished).SerializeToString()

    def otlp_json(self) -> dict[str, Any]:
        """The spans as OTLP JSON: protobuf's JSON mapping, but trace and span ids in hex."""
        document = json_format.MessageToDict(encode_spans(self.finished))
        for resource_spans in document["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    for name in ("traceId", "spanId", "parentSpanId"):
                        if name in span:
                            span[name] = base64.b64decode(span[name]).hex()
        return document


@pytest.fixture
def spans() -> Iterator[Callable[..., Spans]]:
    made: list[Spans] = []

    def make(**resource_attributes: str) -> Spans:
        made.append(Spans(**resource_attributes))
        return made[-1]

    yield make
    for item in made:
        item.provider.shutdown()


def post(pipeline: Pipeline, body: bytes, *, content_type: str = "application/x-protobuf", **headers: str) -> Any:
    return pipeline.client.generic("POST", URL, body, content_type=content_type, **pipeline.headers(headers))
