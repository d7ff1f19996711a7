"""Inference records at production volume, on the demo organisation's support assistant.

``inference_ingest_spans_per_s``: GenAI spans per second through ``POST /api/v1/otlp/v1/traces`` of a real portal
server, run as the README runs it in production (gunicorn, ``GATEWAY_WORKERS`` workers), with ``EXPORTERS``
exporters sending OTLP protobuf requests of 1,000 spans each at once, as a gateway's replicas (or a collector's
several consumers) do; end to end: HTTP, token, protobuf parsing, HMACs, the records' ``COPY``, Merkle root, ledger
entry, commit; ``inference_ingest_ratio_to_one_exporter`` puts it over the next figure, measured in the same run.
``inference_ingest_one_exporter_spans_per_s`` is one exporter alone, a request at a time (median
request, in process), and ``inference_ingest_ratio_to_bulk_insert`` the ORM's bare bulk insert of one request's
1,000 rows over that request (above 1: the whole request is faster than the plain insert alone).
The served figure and those below need PostgreSQL (the server reads the benchmark's database from other processes;
the records are made with ``generate_series`` into the partitioned table):
``monitoring_rollup_seconds``: ``inference_monitoring_rollup`` over one day of ``ROLLUP_RECORDS`` records of the prod
deployment; ``monitoring_rollup_ratio_to_count`` puts it over a bare ``count(*)`` of the same day.
``inference_bytes_per_record``: every partition's table, TOAST and indexes over the rows, with its ratio to the 300
bytes aimed at, and the indexes' share of it (``inference_bytes_index_share``). ``output_trace_ms``: a response id
to its record with the version live when it answered and its use case (median, among all the records above);
``output_trace_ratio_to_pk_lookup`` over fetching a record by id.
"""

import contextlib
import datetime
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from rest_framework.test import APIClient

from accounts.services.tokens import pipeline_token_create
from bench.registry import RUNS, WARMUP, seed_demo
from bench.timing import median_ms
from governance.models import UseCase
from inference.models import InferenceBatch, InferenceRecord
from inference.partitions import TABLE, inference_partitions_ensure, month_start
from inference.selectors import records_for_identifier
from inference.services import inference_monitoring_rollup
from registry.choices import Environment
from registry.models import Deployment

SPANS_PER_REQUEST = 1000
INGEST_RUNS = 5
#: The served intake: gunicorn's workers, as the README's production command starts them, and the exporters
#: sending at once (``BENCH_GATEWAY_WORKERS``, ``BENCH_EXPORTERS`` for others); each sends ``SERVED_REQUESTS_EACH``
#: requests after the warm-up, which has every worker answer.
GATEWAY_WORKERS = int(os.environ.get("BENCH_GATEWAY_WORKERS", "4"))
EXPORTERS = int(os.environ.get("BENCH_EXPORTERS", "4"))
SERVED_REQUESTS_EACH = 6
#: One day's records for the rollup (``BENCH_INFERENCE_RECORDS`` for another volume, e.g. 10,000,000).
ROLLUP_RECORDS = int(os.environ.get("BENCH_INFERENCE_RECORDS", "1000000"))
AIM_BYTES = 300
URL = "/api/v1/otlp/v1/traces"


def _value(value: object) -> AnyValue:
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, list):
        any_value = AnyValue()
        any_value.array_value.values.extend(_value(item) for item in value)
        return any_value
    return AnyValue(string_value=str(value))


def _attributes(values: dict[str, object]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_value(value)) for key, value in values.items()]


def export_request(started: datetime.datetime, *, spans: int = SPANS_PER_REQUEST) -> bytes:
    """An OTLP ``ExportTraceServiceRequest`` of ``spans`` GenAI chat spans, as a serving gateway's exporter sends."""
    resource_spans = ResourceSpans()
    resource_spans.resource.attributes.extend(
        _attributes(
            {"service.name": "support-gateway", "portal.use_case": "support-assistant", "portal.environment": "prod"}
        )
    )
    scope = ScopeSpans()
    scope.scope.name = "support-gateway"
    start_ns = int(started.timestamp() * 1e9)
    for index in range(spans):
        response = secrets.token_hex(10)
        span = Span(
            trace_id=secrets.token_bytes(16),
            span_id=secrets.token_bytes(8),
            name="chat support-assistant",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=start_ns + index * 1_000_000,
            end_time_unix_nano=start_ns + index * 1_000_000 + 900_000_000,
        )
        span.attributes.extend(
            _attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "support-assistant",
                    "gen_ai.response.model": "support-assistant",
                    "gen_ai.response.id": f"chatcmpl-{response}",
                    "gen_ai.conversation.id": f"conv-{index // 4}-{response[:6]}",
                    "gen_ai.usage.input_tokens": 120 + index % 50,
                    "gen_ai.usage.output_tokens": 60 + index % 80,
                    "gen_ai.response.finish_reasons": ["content_filter" if index % 50 == 0 else "stop"],
                    "gen_ai.input.messages": (
                        '[{"role": "user", "parts": [{"type": "text", "content": "Why was invoice '
                        f'{index} charged twice?"}}]}}]'
                    ),
                    "gen_ai.output.messages": (
                        '[{"role": "assistant", "parts": [{"type": "text", "content": "A refund for invoice '
                        f'{index} is on its way ({response})."}}]}}]'
                    ),
                    "portal.prompt_category": "billing_dispute",
                    "portal.policy_checks": ["pci_redaction", "disclaimer"],
                    "portal.response_classification": "escalated" if index % 20 == 0 else "pass",
                    "portal.end_user": f"customer-{index % 300}",
                }
            )
        )
        scope.spans.append(span)
    resource_spans.scope_spans.append(scope)
    return ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()


def _token_secret() -> str:
    """A gateway's token; its rate is raised above the portal's default (a guard against runaway pipelines, which
    would otherwise count the benchmark's own requests), as an operator raises it for a busy gateway."""
    issued = pipeline_token_create(
        service_account_name="bench-gateway",
        name="inference benchmark",
        use_cases=UseCase.objects.filter(slug="support-assistant"),
        scopes=["inference:write"],
        rate_limit="100000/min",
        actor_name="system:bench",
    )
    return issued.secret


def _client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def portal_server(workers: int) -> Iterator[str]:
    """The portal served by gunicorn on this benchmark's database, as in production (``DEBUG`` off); yields its
    base URL."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - this interpreter's gunicorn, with arguments of our own
        [
            *(sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"),
            *("--workers", str(workers), "--log-level", "warning", "--timeout", "120"),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        # Production mode, as a gateway meets it: no debug query log, behind a proxy that terminated TLS.
        env={**os.environ, "DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": settings.SECRET_KEY}
        | {"ALLOWED_HOSTS": "127.0.0.1"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start (exit {server.poll()})") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def ingest_served(secret: str) -> float:
    """Spans per second through the served intake, ``EXPORTERS`` exporters sending at once."""
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    warmup = [export_request(started) for _ in range(GATEWAY_WORKERS * 2)]
    bodies = [export_request(started) for _ in range(EXPORTERS * SERVED_REQUESTS_EACH)]
    sessions = threading.local()

    def send(body: bytes) -> None:
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        answer = sessions.session.post(
            f"{base}{URL}",
            data=body,
            headers={
                "Content-Type": "application/x-protobuf",
                "Authorization": f"Bearer {secret}",
                "X-Forwarded-Proto": "https",  # as the TLS-terminating proxy the README puts in front sets it
            },
            timeout=120,
        )
        if answer.status_code != 200:
            raise RuntimeError(f"the served intake answered {answer.status_code}: {answer.content[:300]!r}")

    with portal_server(GATEWAY_WORKERS) as base, ThreadPoolExecutor(EXPORTERS) as exporters:
        list(exporters.map(send, warmup))  # every worker has loaded the portal and answered once
        began = time.perf_counter()
        list(exporters.map(send, bodies))
        elapsed = time.perf_counter() - began
    return len(bodies) * SPANS_PER_REQUEST / elapsed


def ingest(client: APIClient) -> tuple[float, float]:
    """(spans per second through the endpoint, the bare bulk insert of one request's rows over a request)."""
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)
    bodies = [export_request(started) for _ in range(INGEST_RUNS + 1)]
    timings = []
    for number, body in enumerate(bodies):
        began = time.perf_counter()
        response = client.generic("POST", URL, body, content_type="application/x-protobuf")
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"the OTLP intake answered {response.status_code}: {response.content[:300]!r}")
        if number:  # the first request warms up
            timings.append(elapsed)
    request = statistics.median(timings)
    batch = InferenceBatch.objects.order_by("-pk").first()
    rows = list(InferenceRecord.objects.filter(batch=batch).order_by("position"))
    for row in rows:
        row.pk, row.position, row.span_id = None, row.position + SPANS_PER_REQUEST, secrets.token_hex(8)
    began = time.perf_counter()
    with transaction.atomic():
        InferenceRecord.objects.bulk_create(rows, batch_size=1000)
        bulk = time.perf_counter() - began
        transaction.set_rollback(True)
    return SPANS_PER_REQUEST / request, bulk / request


def _day() -> tuple[datetime.datetime, datetime.datetime]:
    today = datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - datetime.timedelta(days=1), today


def fill_day(count: int) -> None:
    """``count`` records of the support assistant in prod, spread over yesterday, in one ``INSERT ... SELECT``."""
    start, _end = _day()
    batch = InferenceBatch.objects.order_by("-pk").first()
    use_case = UseCase.objects.get(slug="support-assistant")
    version = Deployment.objects.get(use_case=use_case, environment=Environment.PROD).current_version_id
    inference_partitions_ensure([(use_case.pk, month_start(start))])
    step_us = 86_400_000_000 // count
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO "{TABLE}" (
                batch_id, position, use_case_id, environment, model_version_id, named_version_id, version_mismatch,
                trace_id, span_id, response_id, conversation_id, operation, request_model, response_model,
                started_at, ended_at, input_tokens, output_tokens, finish_reasons, prompt_category, policy_checks,
                response_classification, end_user_pseudonym, prompt_hmac, answer_hmac, hmac_key_id,
                prompt_excerpt, answer_excerpt
            )
            SELECT %(batch)s, 100000 + i, %(use_case)s, 'prod', %(version)s, NULL, false,
                decode(md5('t' || i), 'hex'), decode(left(md5('s' || i), 16), 'hex'),
                'chatcmpl-' || left(md5('r' || i), 20),
                'conv-' || (i / 4), 'chat', 'support-assistant', 'support-assistant',
                %(start)s + make_interval(secs => i::bigint * %(step)s / 1e6),
                %(start)s + make_interval(secs => i::bigint * %(step)s / 1e6 + 0.9),
                120 + i %% 50, 60 + i %% 80,
                CASE WHEN i %% 50 = 0 THEN '["content_filter"]'::jsonb ELSE '["stop"]'::jsonb END,
                'billing_dispute', '["pci_redaction", "disclaimer"]'::jsonb,
                CASE WHEN i %% 100 = 0 THEN 'fail' WHEN i %% 20 = 0 THEN 'escalated' ELSE 'pass' END,
                decode(md5('u' || (i %% 50000)) || md5('v' || (i %% 50000)), 'hex'),
                decode(md5('p' || i) || md5('q' || i), 'hex'), decode(md5('a' || i) || md5('b' || i), 'hex'),
                'pilot', '', ''
            FROM generate_series(0, %(last)s) AS i
            """,  # noqa: S608 - the table's own name
            {
                "batch": batch.pk,
                "use_case": use_case.pk,
                "version": version,
                "start": start,
                "step": step_us,
                "last": count - 1,
            },
        )
        cursor.execute(f'ANALYZE "{TABLE}"')


def rollup() -> tuple[float, float]:
    """(seconds for the day's monitoring summary from its records, that over a bare count of the day's rows)."""
    start, end = _day()
    deployment = Deployment.objects.get(use_case__slug="support-assistant", environment=Environment.PROD)
    engineer = get_user_model().objects.get(username="mleng")
    began = time.perf_counter()
    summary = inference_monitoring_rollup(deployment=deployment, actor=engineer, period_start=start, period_end=end)
    seconds = time.perf_counter() - began
    if summary.volume < ROLLUP_RECORDS:
        raise RuntimeError(f"the rollup counted {summary.volume} records, not {ROLLUP_RECORDS}")
    began = time.perf_counter()
    InferenceRecord.objects.filter(
        use_case_id=deployment.use_case_id,
        environment=deployment.environment,
        started_at__gte=start,
        started_at__lt=end,
    ).count()
    return seconds, (time.perf_counter() - began) / seconds


def bytes_per_record() -> tuple[float, float]:
    """(table, TOAST and indexes of every partition over the rows; the indexes' share of that)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(relid)), sum(pg_indexes_size(relid)) "
            "FROM pg_partition_tree(%s::regclass) WHERE isleaf",
            [TABLE],
        )
        size, indexes = cursor.fetchone()
    return float(size) / InferenceRecord.objects.count(), float(indexes) / float(size)


def trace() -> tuple[float, float]:
    """(ms from a response id to its record, live version and use case; that over a fetch by primary key)."""
    record = InferenceRecord.objects.filter(response_id__startswith="chatcmpl-").order_by("-pk").first()

    def lookup() -> InferenceRecord:
        found = records_for_identifier(record.response_id).select_related("model_version", "use_case").get()
        if found.model_version is None or found.use_case.slug != "support-assistant":
            raise RuntimeError(f"{record.response_id} traced to no live version of the support assistant")
        return found

    traced = median_ms(lookup, warmup=WARMUP, runs=RUNS)[0]
    by_key = median_ms(lambda: InferenceRecord.objects.get(pk=record.pk), warmup=WARMUP, runs=RUNS)[0]
    return traced, by_key / traced


def run() -> Iterator[tuple[str, float, str]]:
    seed_demo()
    secret = _token_secret()
    rate, ratio = ingest(_client(secret))
    if connection.vendor != "postgresql":
        yield "inference_ingest_one_exporter_spans_per_s", rate, "spans/s"
        yield "inference_ingest_ratio_to_bulk_insert", ratio, "ratio"
        return  # the served and volume figures are PostgreSQL's (another process, generate_series, partitions)
    served = ingest_served(secret)
    yield "inference_ingest_spans_per_s", served, "spans/s"
    yield "inference_ingest_ratio_to_one_exporter", served / rate, "ratio"
    yield "inference_ingest_one_exporter_spans_per_s", rate, "spans/s"
    yield "inference_ingest_ratio_to_bulk_insert", ratio, "ratio"
    fill_day(ROLLUP_RECORDS)
    seconds, ratio = rollup()
    yield "monitoring_rollup_seconds", seconds, "s"
    yield "monitoring_rollup_ratio_to_count", ratio, "ratio"
    size, index_share = bytes_per_record()
    yield "inference_bytes_per_record", size, "bytes"
    yield "inference_bytes_ratio_to_aim", size / AIM_BYTES, "ratio"
    yield "inference_bytes_index_share", index_share, "ratio"
    traced, ratio = trace()
    yield "output_trace_ms", traced, "ms"
    yield "output_trace_ratio_to_pk_lookup", ratio, "ratio"
