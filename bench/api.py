"""Pipeline API figures on the demo organisation.

``api_results_ingest_per_s``: results per second through ``POST /api/v1/validation-runs``, 10,000 results per
request (median request, end to end: authentication, parsing, checks, bulk insert, ledger).
``api_gate_check_ms``: ``GET /api/v1/gates/<version>/prod``, the pipeline's "may I deploy?" (median).
"""

import datetime
import statistics
import time
from collections.abc import Iterator

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services.tokens import pipeline_token_create
from bench.registry import RUNS, WARMUP, seed_demo
from bench.timing import median_ms
from governance.models import UseCase
from registry.models import ModelVersion, ValidationSuite

RESULTS = 10_000
INGEST_RUNS = 3
MODEL_VERSION = "support-assistant:3"


def _client() -> APIClient:
    issued = pipeline_token_create(
        service_account_name="bench-pipeline",
        name="benchmark",
        use_cases=UseCase.objects.filter(slug="support-assistant"),
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


def run() -> Iterator[tuple[str, float, str]]:
    seed_demo()
    ModelVersion.objects.get(name="support-assistant", number=3)  # the demo's version, or fail loudly here
    client = _client()
    yield "api_results_ingest_per_s", api_results_ingest_per_s(client), "results/s"
    yield "api_gate_check_ms", api_gate_check_ms(client), "ms"
