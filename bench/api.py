"""Pipeline API figures on the demo organisation.

``api_results_ingest_per_s``: results per second through ``POST /api/v1/validation-runs``, 10,000 results per
request (median request, end to end: authentication, parsing, checks, bulk insert, ledger).
``api_gate_check_ms``: ``GET /api/v1/gates/<version>/prod``, the pipeline's "may I deploy?" (median).
``ledger_stream_entries_per_s``: the whole ledger (at least ``STREAM_ENTRIES``) pulled through ``GET /api/v1/ledger``
in pages of 1,000, as a SIEM's HTTP input pulls it; ``ledger_stream_ratio_to_db_read`` puts it over reading the
same rows' columns straight from the database in the same run (what the endpoint adds: HTTP, auth, the JSON).
"""

import datetime
import json
import statistics
import time
from collections.abc import Iterator

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PipelineTokenScope
from accounts.services.tokens import pipeline_token_create
from audit.models import LedgerEntry
from bench.ledger import grow_ledger
from bench.registry import RUNS, WARMUP, seed_demo
from bench.timing import median_ms
from governance.models import UseCase
from registry.models import ModelVersion, ValidationSuite

RESULTS = 10_000
INGEST_RUNS = 3
STREAM_ENTRIES = 50_000
STREAM_PAGE = 1000
STREAM_RUNS = 3
MODEL_VERSION = "support-assistant:3"


def _client(*, scopes: list[str] | None = None) -> APIClient:
    issued = pipeline_token_create(
        service_account_name="bench-pipeline",
        name="benchmark",
        use_cases=UseCase.objects.filter(slug="support-assistant"),
        scopes=scopes,
        actor_name="system:bench",
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


def _body() -> dict:
    suite = ValidationSuite.objects.filter(slug="billing-assistant").order_by("-version").first()
    keys = list(suite.cases.values_list("key", "category"))
    results = [
        {
            "case": keys[index % len(keys)][0],
            "attempt": index // len(keys) + 1,
            "outcome": "fail" if index % 37 == 0 else "pass",
            "score": 0.9,
            **({"human_reviewer": "risk2"} if keys[index % len(keys)][1] == "human_review" else {}),
        }
        for index in range(RESULTS)
    ]
    return {
        "model_version": MODEL_VERSION,
        "suite": suite.slug,
        "suite_version": suite.version,
        "started_at": (timezone.now() - datetime.timedelta(hours=1)).isoformat(),
        "results": results,
    }


def api_results_ingest_per_s(client: APIClient) -> float:
    body = _body()
    timings = []
    for _ in range(INGEST_RUNS):
        started = time.perf_counter()
        response = client.post("/api/v1/validation-runs", body, format="json")
        timings.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"the ingest request answered {response.status_code}: {response.content[:500]!r}")
    return RESULTS / statistics.median(timings)


def api_gate_check_ms(client: APIClient) -> float:
    url = f"/api/v1/gates/{MODEL_VERSION}/prod"
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"the gate check answered {response.status_code}")
    return median_ms(lambda: client.get(url), warmup=WARMUP, runs=RUNS)[0]


def _stream(client: APIClient) -> int:
    after, received = 0, 0
    while True:
        response = client.get(f"/api/v1/ledger?after={after}&limit={STREAM_PAGE}")
        if response.status_code != 200:
            raise RuntimeError(f"the ledger feed answered {response.status_code}: {response.content[:300]!r}")
        page = json.loads(response.content)
        received += len(page["entries"])
        after = page["next_after"]
        if not page["has_more"]:
            return received


def _read_rows() -> int:
    received = 0
    for first in range(0, LedgerEntry.objects.count(), STREAM_PAGE):
        rows = LedgerEntry.objects.filter(sequence__gt=first).order_by("sequence")
        received += len(rows.values_list("sequence", "canonical", "entry_hash", "prev_hash")[:STREAM_PAGE])
    return received


def ledger_stream(client: APIClient) -> tuple[float, float]:
    """(entries per second through the feed, that over the bare database read of the same pages)."""
    grow_ledger(max(STREAM_ENTRIES, LedgerEntry.objects.count()))
    total = LedgerEntry.objects.count()
    timings = {}
    for name, pull in (("api", lambda: _stream(client)), ("db", _read_rows)):
        best = float("inf")
        for _ in range(STREAM_RUNS):
            started = time.perf_counter()
            if pull() != total:
                raise RuntimeError(f"the {name} pull did not return all {total} entries")
            best = min(best, time.perf_counter() - started)
        timings[name] = best
    return total / timings["api"], timings["db"] / timings["api"]


def run() -> Iterator[tuple[str, float, str]]:
    seed_demo()
    ModelVersion.objects.get(name="support-assistant", number=3)  # the demo's version, or fail loudly here
    client = _client()
    yield "api_results_ingest_per_s", api_results_ingest_per_s(client), "results/s"
    yield "api_gate_check_ms", api_gate_check_ms(client), "ms"
    stream_rate, stream_ratio = ledger_stream(_client(scopes=[PipelineTokenScope.LEDGER_READ]))
    yield "ledger_stream_entries_per_s", stream_rate, "entries/s"
    yield "ledger_stream_ratio_to_db_read", stream_ratio, "ratio"
