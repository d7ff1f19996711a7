"""OTLP intake at /api/v1/otlp/v1/traces: GenAI spans become inference records tied to the live version."""

import datetime
import gzip
import json

import pytest
from django.utils import timezone
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from rest_framework.test import APIClient

from audit.models import LedgerEntry
from inference.models import InferenceBatch, InferenceRecord
from inference.proofs import record_is_proven
from registry.choices import IncidentSource, IncidentState
from registry.models import Incident
from registry.services.deployments import deployment_rollback
from tests import services
from tests.api.conftest import Pipeline
from tests.concurrency import run_at_once
from tests.inference.conftest import ANSWER, genai_attributes, post, resource, two_versions_in_prod

pytestmark = pytest.mark.django_db


def exporter_to(live_server, pipeline, **options) -> OTLPSpanExporter:
    return OTLPSpanExporter(
        endpoint=f"{live_server.url}/api/v1/otlp/v1/traces",
        headers={"Authorization": f"Bearer {pipeline.secret}"},
        timeout=30,
        **options,
    )


@pytest.mark.django_db(transaction=True)
def test_the_sdk_exporter_records_answers_tied_to_the_live_version_on_both_sides_of_a_rollback(
    live_server, world, issue
):
    first, second, prod = two_versions_in_prod(world)
    pipeline = issue(scopes=["inference:write"])

    # Before the rollback: spans one at a time, protobuf as the exporter sends it by default.
    before = TracerProvider(resource=resource())
    before.add_span_processor(SimpleSpanProcessor(exporter_to(live_server, pipeline)))
    tracer = before.get_tracer("support-gateway")
    with tracer.start_as_current_span("chat", attributes=genai_attributes(second.identifier)):
        tracer.start_span("retrieve documents").end()  # not a GenAI span: ignored
    before.shutdown()

    deployment_rollback(deployment=prod, actor=world["risk"], reason="Card fragments echoed back")

    # After it: batched, gzip-compressed, several answers in one request.
    after = TracerProvider(resource=resource())
    after.add_span_processor(BatchSpanProcessor(exporter_to(live_server, pipeline, compression=Compression.Gzip)))
    tracer = after.get_tracer("support-gateway")
    for number in range(3):
        tracer.start_span(
            "chat", attributes=genai_attributes(first.identifier, **{"gen_ai.response.id": f"r{number}"})
        ).end()
    after.shutdown()

    records = list(InferenceRecord.objects.order_by("started_at"))
    assert [record.model_version for record in records] == [second, first, first, first]
    assert not any(record.version_mismatch for record in records)
    assert InferenceBatch.objects.count() == 2
    record = records[0]
    assert (record.environment, record.operation, record.response_id, record.conversation_id) == (
        "prod",
        "chat",
        "chatcmpl-1",
        "conv-1",
    )
    assert (record.input_tokens, record.output_tokens, record.finish_reasons) == (42, 17, ["stop"])
    assert (record.prompt_category, record.policy_checks, record.response_classification) == (
        "billing_dispute",
        ["pci_redaction", "disclaimer"],
        "pass",
    )
    assert len(record.answer_hmac) == len(record.prompt_hmac) == len(record.end_user_pseudonym) == 64
    assert "customer-4711" not in record.end_user_pseudonym


def test_otlp_json_with_hex_ids_integer_enums_and_gzip_is_recorded(intake, world):
    start = int(timezone.now().timestamp() * 1e9)
    attributes = [
        {"key": key, "value": {"stringValue": value}}
        for key, value in {
            "gen_ai.operation.name": "chat",
            "gen_ai.response.id": "json-1",
            "portal.response_classification": "escalated",
        }.items()
    ] + [
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "9"}},
        {"key": "portal.policy_checks", "value": {"arrayValue": {"values": [{"stringValue": "pii"}]}}},
    ]
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "portal.use_case", "value": {"stringValue": "support-assistant"}},
                        {"key": "portal.environment", "value": {"stringValue": "prod"}},
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "support-gateway"},
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "chat",
                                "kind": 3,
                                "startTimeUnixNano": str(start),
                                "endTimeUnixNano": start + 1_000_000,
                                "attributes": attributes,
                                "status": {"code": 1},
                                "someFutureField": True,
                            }
                        ],
                    }
                ],
            }
        ]
    }

    response = post(
        intake,
        gzip.compress(json.dumps(document).encode()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    record = InferenceRecord.objects.get()
    assert (record.trace_id, record.span_id) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert (record.output_tokens, record.policy_checks, record.response_classification) == (9, ["pii"], "escalated")
    assert record.started_at == datetime.datetime.fromtimestamp(start // 1000 / 1e6, tz=datetime.UTC)
    assert record.model_version is None  # nothing deployed in prod yet


def test_bad_spans_are_counted_in_partial_success_and_the_good_ones_kept(intake, world, spans):
    made = spans()
    made.add(**genai_attributes(**{"gen_ai.response.id": "good-1"}))
    made.add(**genai_attributes(**{"portal.response_classification": "maybe"}))
    made.add(**genai_attributes(**{"portal.model_version": "support-assistant:99"}))
    made.add(**genai_attributes(**{"gen_ai.response.id": "good-2"}))
    made.add(**{"http.route": "/chat"})  # not a GenAI span: neither kept nor rejected

    response = post(intake, made.protobuf())

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 2
    first_rejected = made.memory.get_finished_spans()[1].context
    assert answer.partial_success.error_message.startswith(
        f"2 span(s) rejected; the first: span {first_rejected.span_id:016x} of trace {first_rejected.trace_id:032x}"
    )
    assert "portal.response_classification 'maybe' is not one of pass, fail, escalated" in (
        answer.partial_success.error_message
    )
    assert sorted(InferenceRecord.objects.values_list("response_id", flat=True)) == ["good-1", "good-2"]


def test_a_json_request_gets_partial_success_as_otlp_json(intake, world, spans):
    made = spans(environment="canary")
    made.add(**genai_attributes())

    response = post(intake, json.dumps(made.otlp_json()).encode(), content_type="application/json")

    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert "portal.environment 'canary' is not one of dev, test, staging, prod" in partial["errorMessage"]
    assert not InferenceRecord.objects.exists()


def test_each_batch_is_one_ledger_entry_with_its_count_and_merkle_root(intake, world, spans):
    made = spans()
    for number in range(25):
        made.add(**genai_attributes(**{"gen_ai.response.id": f"r{number}"}))
    entries = LedgerEntry.objects.count()

    assert post(intake, made.protobuf()).status_code == 200

    assert LedgerEntry.objects.count() == entries + 1
    batch = InferenceBatch.objects.get()
    entry = LedgerEntry.objects.get(sequence=batch.ledger_sequence)
    sealed = entry.payload["inference_batch"]
    assert (sealed["records"], sealed["merkle_root"], sealed["use_case"]) == (
        25,
        batch.merkle_root,
        "support-assistant",
    )
    assert entry.actor_name == intake.account.username
    assert batch.records.count() == 25


def test_a_span_sent_again_is_not_recorded_twice(intake, world, spans):
    made = spans()
    made.add(**genai_attributes())
    body = made.protobuf()

    assert post(intake, body).status_code == 200
    assert post(intake, body).status_code == 200

    assert InferenceRecord.objects.count() == 1


# -- refusals ------------------------------------------------------------------------------------------------------


def test_a_token_without_the_inference_scope_is_refused(world, issue, spans):
    made = spans()
    made.add(**genai_attributes())
    response = post(issue(scopes=["monitoring:write"]), made.protobuf())
    assert response.status_code == 403
    assert "inference:write" in response.json()["detail"]
    assert not InferenceRecord.objects.exists()


def test_a_use_case_the_token_does_not_reach_refuses_the_whole_request(world, issue, spans):
    pipeline = issue(scopes=["inference:write"], use_cases=("support-assistant",))
    made = spans()
    made.add(**genai_attributes())
    made.add(**genai_attributes(**{"portal.use_case": "wealth-chatbot"}))
    denials = LedgerEntry.objects.filter(action="denied").count()

    response = post(pipeline, made.protobuf())

    assert response.status_code == 403
    assert "wealth-chatbot" in response.json()["detail"]
    assert not InferenceRecord.objects.exists()
    assert LedgerEntry.objects.filter(action="denied").count() == denials + 1


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        (b"\xff\xff\xff\xff not protobuf", "application/x-protobuf", ""),
        (b'{"resourceSpans": [', "application/json", ""),
        (b'{"resourceSpans": "many"}', "application/json", ""),
        # Protobuf's JSON parser takes this one (a string where a ResourceSpans object belongs) without complaint.
        (b'{"resourceSpans": ["?\\u00ba\\udb53\\udf39\\ud968\\ude8e\\u407f"]}', "application/json", ""),
        (b"not gzip at all", "application/x-protobuf", "gzip"),
    ],
)
def test_a_malformed_body_is_400(intake, body, content_type, encoding):
    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
    response = post(intake, body, content_type=content_type, **headers)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["body"]


def test_a_body_of_another_media_type_is_415(intake):
    response = post(intake, b"chat", content_type="text/plain")
    assert response.status_code == 415
    assert "application/x-protobuf" in response.json()["detail"]


def test_an_oversized_body_is_413_and_so_is_one_that_inflates_past_the_limit(intake, settings, spans):
    settings.API_MAX_REQUEST_BYTES = 2000
    made = spans()
    for number in range(20):
        made.add(**genai_attributes(**{"gen_ai.response.id": f"r{number}"}))
    body = made.protobuf()
    assert len(body) > 2000

    assert post(intake, body).status_code == 413
    compressed = gzip.compress(body)
    assert len(compressed) < 2000  # sent under the limit, inflated past it
    bomb = post(intake, compressed, HTTP_CONTENT_ENCODING="gzip")
    assert bomb.status_code == 413
    assert "inflated body is larger than 2000 bytes" in bomb.json()["detail"]
    assert not InferenceRecord.objects.exists()


# -- which model answered ------------------------------------------------------------------------------------------


def test_a_span_naming_a_version_never_promoted_there_is_flagged_and_raises_one_draft_incident(intake, world, spans):
    _first, second, prod = two_versions_in_prod(world)
    stray = world.model()  # registered, never promoted to prod
    for _request in range(2):
        made = spans()
        made.add(**genai_attributes(stray.identifier))
        made.add(**genai_attributes(f"support-assistant@{stray.number}"))
        made.add(**genai_attributes(second.identifier))
        assert post(intake, made.protobuf()).status_code == 200

    flagged = InferenceRecord.objects.filter(version_mismatch=True)
    assert flagged.count() == 4
    assert {(record.model_version, record.named_version) for record in flagged} == {(second, stray)}
    assert InferenceRecord.objects.filter(version_mismatch=False, model_version=second).count() == 2
    incident = Incident.objects.get(source=IncidentSource.MONITORING_ALERT, model_version=stray)
    assert (incident.state, incident.deployment, incident.use_case) == (IncidentState.DRAFT, prod, world.use_case)
    assert stray.identifier in incident.title


def test_a_span_started_before_the_rollback_is_tied_to_the_version_live_then(intake, world, spans):
    first, second, prod = two_versions_in_prod(world)
    before = timezone.now()
    deployment_rollback(deployment=prod, actor=world["risk"], reason="Complaints")
    made = spans()
    made.add(at=before, **genai_attributes(second.identifier, **{"gen_ai.response.id": "before"}))
    made.add(**genai_attributes(second.identifier, **{"gen_ai.response.id": "after"}))

    assert post(intake, made.protobuf()).status_code == 200

    tied = {
        record.response_id: (record.model_version, record.version_mismatch) for record in InferenceRecord.objects.all()
    }
    assert tied == {"before": (second, False), "after": (first, True)}


def test_the_answer_text_reaches_no_record_but_its_hmac_does(intake, world, spans):
    made = spans()
    made.add(**genai_attributes())
    post(intake, made.protobuf())
    assert ANSWER not in str(InferenceRecord.objects.values().get())


# -- two requests at once ------------------------------------------------------------------------------------------


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_two_batches_at_once_are_both_recorded_and_raise_one_draft_incident_between_them(world, issue, spans):
    two_versions_in_prod(world)
    stray = world.model()
    pipeline = issue(scopes=["inference:write"])
    bodies = []
    for number in range(2):
        made = spans()
        for index in range(20):
            made.add(**genai_attributes(stray.identifier, **{"gen_ai.response.id": f"b{number}-{index}"}))
        bodies.append(made.protobuf())

    def deliver(body: bytes):
        return lambda: (
            post(Pipeline(client=APIClient(), token=pipeline.token, secret=pipeline.secret), body).status_code
        )

    answers = [outcome.get() for outcome in run_at_once(deliver(bodies[0]), deliver(bodies[1]), timeout=90)]

    assert answers == [200, 200]
    assert InferenceBatch.objects.count() == 2
    assert InferenceRecord.objects.filter(version_mismatch=True).count() == 40
    assert Incident.objects.filter(model_version=stray, state=IncidentState.DRAFT).count() == 1
    assert all(record_is_proven(record) for record in InferenceRecord.objects.all())


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_a_span_sent_twice_at_once_is_recorded_once_and_the_new_spans_beside_it_are_kept(world, issue, spans):
    """An exporter's retry racing its first attempt: the span constraint makes one wait for the other, and the one
    refused leaves out what the other recorded and keeps the rest, each request sealed on its own."""
    pipeline = issue(scopes=["inference:write"])
    shared = [genai_attributes(**{"gen_ai.response.id": f"shared-{index}"}) for index in range(30)]
    first, extra = spans(), spans()
    for attributes in shared:
        first.add(**attributes)
    extra.add(**genai_attributes(**{"gen_ai.response.id": "only-in-the-retry"}))
    retry = encode_spans(first.finished + extra.finished).SerializeToString()

    def deliver(body: bytes):
        return lambda: (
            post(Pipeline(client=APIClient(), token=pipeline.token, secret=pipeline.secret), body).status_code
        )

    outcomes = run_at_once(deliver(first.protobuf()), deliver(retry), timeout=90)

    assert [outcome.get() for outcome in outcomes] == [200, 200]
    assert InferenceRecord.objects.count() == 31
    assert InferenceRecord.objects.filter(response_id="only-in-the-retry").count() == 1
    # Whichever committed first sealed its spans; the other left those out and sealed what was left, if anything.
    assert sorted(InferenceBatch.objects.values_list("record_count", flat=True)) in ([1, 30], [31])
    assert all(record_is_proven(record) for record in InferenceRecord.objects.all())
