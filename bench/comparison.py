"""``compare_ms``: two model versions side by side (``registry.comparison``), each trained on 20 dataset versions
and validated with 10,000 results (median; target at most 200 ms), beside the same comparison of the same two
versions before they grew to that size, as the demo has them (``compare_scaling_ratio``), and the queries either takes
(``compare_queries``, ``compare_queries_demo_size``: equal when the count does not grow with the data)."""

from collections.abc import Iterator

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.evidence import DATASET_VERSIONS, more_results, more_training_data
from bench.registry import seed_demo
from bench.timing import median_ms
from registry.comparison import compare_model_versions
from registry.models import ModelVersion

RESULTS = 10_000
WARMUP = 2
RUNS = 15


def grow(model: ModelVersion) -> None:
    """The benchmarks' large model version: trained on ``DATASET_VERSIONS`` dataset versions and validated with
    ``RESULTS`` results (idempotent: a version already that large is left as it is)."""
    more_training_data(model)
    if not model.validation_runs.filter(result_count__gte=RESULTS).exists():
        more_results(model, RESULTS)


def _compare_ms(before: ModelVersion, after: ModelVersion) -> tuple[float, int]:
    milliseconds, _ = median_ms(lambda: compare_model_versions(before, after), warmup=WARMUP, runs=RUNS)
    connection.queries_log.clear()  # a full log (earlier benchmarks) would make the captured slice empty
    with CaptureQueriesContext(connection) as queries:
        compare_model_versions(before, after)
    return milliseconds, len(queries)


def run() -> Iterator[tuple[str, float, str]]:
    if not ModelVersion.objects.exists():
        seed_demo()
    versions = ModelVersion.objects.filter(name="support-assistant").select_related("training_run").order_by("number")
    # The same two versions before and after they grow, so only the amount of data differs between the two figures.
    before, after = versions.first(), versions.last()
    small_ms, small_queries = _compare_ms(before, after)
    for model in (before, after):
        grow(model)
    assert before.training_run.dataset_links.count() == after.training_run.dataset_links.count() == DATASET_VERSIONS
    milliseconds, queries = _compare_ms(before, after)
    yield "compare_ms", milliseconds, "ms"
    yield "compare_scaling_ratio", milliseconds / small_ms, "ratio"
    yield "compare_queries", float(queries), "queries"
    yield "compare_queries_demo_size", float(small_queries), "queries"
