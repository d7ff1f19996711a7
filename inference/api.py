"""``POST /api/v1/otlp/v1/traces``: OTLP/HTTP trace exports from the serving side, as the OpenTelemetry SDK's OTLP
HTTP span exporter sends them (its endpoint set to ``<portal>/api/v1/otlp/v1/traces``), with a pipeline token of
scope ``inference:write`` as ``Authorization: Bearer``.

200 with an ``ExportTraceServiceResponse`` in the request's encoding; GenAI spans that cannot be recorded are
counted in its ``partial_success`` (with the first problem named) and the request's other spans are kept. A body
that is not an export request is a 400, one above ``API_MAX_REQUEST_BYTES`` (before or after gzip) a 413, and a
span of a use case the token does not reach makes the whole request a 403 (recorded in the ledger): nothing of it
is recorded.
"""

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, UnsupportedMediaType
from rest_framework.request import Request

from accounts.api.parsers import inflate
from accounts.api.views import PipelineAPIView
from accounts.models import PipelineTokenScope
from audit.ledger import record_denial
from governance.models import UseCase
from inference.choices import ResponseClassification
from inference.otlp import JSON, PROTOBUF, SpanFacts, SpanProblem, media_type, parse_request, read_spans
from inference.otlp import response_body as otlp_response_body
from inference.services import ResolvedSpan, inference_spans_record
from registry.choices import Environment
from registry.models import ModelVersion

#: Read once: ``TextChoices.values`` builds a new list on every access.
_ENVIRONMENTS = frozenset(Environment.values)
_CLASSIFICATIONS = frozenset(ResponseClassification.values)


def _version(identifier: str, use_case: UseCase) -> ModelVersion | str:
    """The version ``portal.model_version`` names (``name:number``, ``name@number`` or its id), or what is wrong."""
    found = ModelVersion.objects.identified_by(identifier.replace("@", ":", 1)).first()
    if found is None:
        return f"portal.model_version {identifier!r} names no model version"
    if found.use_case_id != use_case.pk:
        return f"portal.model_version {identifier!r} is a version of another use case"
    return found


class ExportTraceServiceRequestJson(serializers.Serializer):
    """OTLP JSON as the schema shows it; the intake reads it with OTLP's own rules (``inference.otlp``)."""

    resourceSpans = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="OTLP ResourceSpans: resource, scopeSpans, schemaUrl. Unknown fields are ignored, as OTLP asks.",
    )


class _BodyRequired(AutoSchema):
    """The export request is required in either encoding (drf-spectacular cannot tell so of a binary body)."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class OtlpTraceIntake(PipelineAPIView):
    """Record the GenAI spans of an OTLP trace export as inference records."""

    schema = _BodyRequired()
    required_scope = PipelineTokenScope.INFERENCE_WRITE
    reads_raw_body = True  # protobuf, OTLP JSON, possibly gzipped

    @extend_schema(
        request={PROTOBUF: bytes, JSON: ExportTraceServiceRequestJson},
        responses={200: OpenApiResponse(description="An OTLP ExportTraceServiceResponse in the request's encoding.")},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        kind = media_type(request.content_type or "")
        if kind not in (PROTOBUF, JSON):
            raise UnsupportedMediaType(kind or "no content type", f"Send {PROTOBUF} or {JSON} (OTLP/HTTP).")
        limit = settings.API_MAX_REQUEST_BYTES
        body = inflate(self.raw_body(), content_encoding=request.headers.get("Content-Encoding", ""), limit=limit)
        spans = read_spans(parse_request(body, kind=kind))
        resolved, problems = self._resolve(spans)
        if resolved:
            inference_spans_record(actor=request.user, token=self.token, spans=resolved)
        message = f"{len(problems)} span(s) rejected; the first: {problems[0]}" if problems else ""
        return HttpResponse(
            otlp_response_body(rejected=len(problems), message=message, kind=kind), content_type=kind, status=200
        )

    def _resolve(self, spans: list[SpanFacts | SpanProblem]) -> tuple[list[ResolvedSpan], list[SpanProblem]]:
        facts = [span for span in spans if isinstance(span, SpanFacts)]
        use_cases = {case.slug: case for case in UseCase.objects.filter(slug__in={span.use_case for span in facts})}
        unreached = sorted(slug for slug, case in use_cases.items() if case.pk not in self.token.use_case_ids)
        if unreached:
            reason = f"This token is not issued for the use case {unreached[0]}; nothing of this request was recorded."
            record_denial(actor=self.request.user, attempted="api inference:write", reason=reason)
            raise PermissionDenied(reason)
        resolved: list[ResolvedSpan] = []
        problems = [span for span in spans if isinstance(span, SpanProblem)]
        # A gateway names the same few versions on every span: each is looked up once per request.
        named: dict[tuple[str, int], ModelVersion | str] = {}
        for span in facts:
            problem, use_case, version = "", use_cases.get(span.use_case), None
            if use_case is None:
                problem = f"portal.use_case {span.use_case!r} names no use case"
            elif span.environment not in _ENVIRONMENTS:
                problem = f"portal.environment {span.environment!r} is not one of {', '.join(Environment.values)}"
            elif span.response_classification and span.response_classification not in _CLASSIFICATIONS:
                problem = (
                    f"portal.response_classification {span.response_classification!r} is not one of "
                    f"{', '.join(ResponseClassification.values)}"
                )
            elif span.model_version:
                key = (span.model_version, use_case.pk)
                if key not in named:
                    named[key] = _version(span.model_version, use_case)
                version = named[key]
                if isinstance(version, str):
                    problem, version = version, None
            if problem:
                problems.append(SpanProblem(span.label, problem))
            else:
                resolved.append(ResolvedSpan(facts=span, use_case=use_case, named_version=version))
        return resolved, problems
