"""``provenance_check_ms``: ``manage.py provenance_check --json`` on a model version trained on 20 dataset versions and
validated with 10,000 results (median; target at most 200 ms), beside the same check of that version before it
grew, as the demo has it (``provenance_check_scaling_ratio``), and the queries either takes
(``provenance_check_queries``, ``provenance_check_queries_demo_size``);
then the completeness check alone (``provenance_completeness_*``: its time, share of the command, scaling and queries,
which must not grow with the data). The large version is built as the comparison benchmark builds it."""

import contextlib
import io
from collections.abc import Callable, Iterator

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.comparison import grow
from bench.evidence import DATASET_VERSIONS
from bench.registry import seed_demo
from bench.timing import median_ms
from registry.completeness import model_version_completeness
from registry.models import ModelVersion

WARMUP = 2
RUNS = 15


def _check(version: ModelVersion) -> None:
    with contextlib.suppress(CommandError):  # exit 1 (a gap or a flag blocks production) is an answer like exit 0
        call_command("provenance_check", "--model-version", version.identifier, "--json", stdout=io.StringIO())


def _measured(work: Callable[[], object]) -> tuple[float, int]:
    milliseconds, _ = median_ms(work, warmup=WARMUP, runs=RUNS)
    connection.queries_log.clear()  # a full log (earlier benchmarks) would make the captured slice empty
    with CaptureQueriesContext(connection) as queries:
        work()
    return milliseconds, len(queries)


def run() -> Iterator[tuple[str, float, str]]:
    if not ModelVersion.objects.exists():
        seed_demo()
    versions = ModelVersion.objects.filter(name="support-assistant").select_related("training_run").order_by("number")
    # One version before and after it grows, so only the amount of data differs between the two figures (the
    # comparison benchmark grows the first and the last version, so this one takes the second).
    large = versions.filter(training_run__dataset_links__isnull=False).distinct()[1]
    small_ms, small_queries = _measured(lambda: _check(large))
    small_facts_ms, small_facts_queries = _measured(lambda: model_version_completeness(large))
    grow(large)
    assert large.training_run.dataset_links.count() == DATASET_VERSIONS
    milliseconds, queries = _measured(lambda: _check(large))
    facts_ms, facts_queries = _measured(lambda: model_version_completeness(large))
    yield "provenance_check_ms", milliseconds, "ms"
    yield "provenance_check_scaling_ratio", milliseconds / small_ms, "ratio"
    yield "provenance_check_queries", float(queries), "queries"
    yield "provenance_check_queries_demo_size", float(small_queries), "queries"
    # The completeness part alone (the flags' checks are the rest of the command), and its share of the command.
    yield "provenance_completeness_ms", facts_ms, "ms"
    yield "provenance_completeness_share_ratio", facts_ms / milliseconds, "ratio"
    yield "provenance_completeness_scaling_ratio", facts_ms / small_facts_ms, "ratio"
    yield "provenance_completeness_queries", float(facts_queries), "queries"
    yield "provenance_completeness_queries_demo_size", float(small_facts_queries), "queries"
