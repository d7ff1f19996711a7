"""Lineage closures: one recursive query (``lineage.graph``) over a DAG of 10,000 dataset versions and
50,000 edges, downstream from a version of the first layer (it reaches almost the whole graph) and upstream
from a version of the last one.

The graph is layered: ``LAYERS`` layers of ``WIDTH`` versions; every version past the first layer has
``PARENTS`` parents in the layer before it, and the remaining edges reach further back. Edges only ever go
from a lower layer to a higher one, so the graph is acyclic. It is built from a fixed seed: every run
measures the same graph.
"""

import hashlib
import random
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction

from bench.timing import median_ms
from lineage.graph import downstream_version_ids, upstream_version_ids
from lineage.models import Dataset, DatasetVersion, LineageEdge

LAYERS = 100
WIDTH = 100
VERSIONS = LAYERS * WIDTH
EDGES = 50_000
#: Parents of every version past the first layer, all in the layer just before it.
PARENTS = 5
#: Consecutive layers held by one dataset (versions are numbered within their dataset).
LAYERS_PER_DATASET = 10
BATCH = 5_000
SEED = 20_250_101
WARMUP = 3
RUNS = 25


def _version_index(layer: int, position: int) -> int:
    return layer * WIDTH + position


def edge_pairs() -> list[tuple[int, int]]:
    """``(parent, child)`` version indexes: ``EDGES`` distinct pairs, parent always in an earlier layer."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible graph, not a secret
    pairs: set[tuple[int, int]] = set()
    for layer in range(1, LAYERS):
        for position in range(WIDTH):
            child = _version_index(layer, position)
            for parent_position in rng.sample(range(WIDTH), PARENTS):
                pairs.add((_version_index(layer - 1, parent_position), child))
    while len(pairs) < EDGES:  # long-range edges, skipping at least one layer
        child_layer = rng.randrange(2, LAYERS)
        parent_layer = rng.randrange(0, child_layer - 1)
        pairs.add(
            (
                _version_index(parent_layer, rng.randrange(WIDTH)),
                _version_index(child_layer, rng.randrange(WIDTH)),
            )
        )
    return sorted(pairs)


def build_graph() -> list[int]:
    """Load the graph; returns the primary keys of the versions, by version index."""
    user = get_user_model().objects.create_user(username="bench-lineage", password=None)
    # Datasets and versions are governed: their default manager refuses bulk_create, since it sends no
    # signals and would leave no history and no ledger entry. A plain QuerySet bypasses that refusal. This is
    # acceptable here only: the benchmark runs in a throw-away test database that is destroyed afterwards,
    # and what it measures is the closure query, not the audit trail. Never do this in application code.
    datasets = models.QuerySet(model=Dataset).bulk_create(
        [
            Dataset(slug=f"bench-lineage-{n}", name=f"Benchmark lineage {n}", steward=user)
            for n in range(LAYERS // LAYERS_PER_DATASET)
        ]
    )
    dataset_ids = [dataset.pk for dataset in datasets]
    if None in dataset_ids:  # a backend that returns no primary keys from bulk inserts
        dataset_ids = list(
            Dataset.objects.filter(slug__startswith="bench-lineage-").order_by("id").values_list("id", flat=True)
        )
    per_dataset = LAYERS_PER_DATASET * WIDTH
    versions = (
        DatasetVersion(
            dataset_id=dataset_ids[index // per_dataset],
            number=index % per_dataset + 1,
            content_digest=hashlib.sha256(f"bench-lineage-{index}".encode()).hexdigest(),
            row_count=1_000 + index,
            size_bytes=64_000 + 64 * index,
            storage_uri=f"s3://bench-lineage/{index // per_dataset}/{index % per_dataset + 1}.parquet",
            created_by=user,
        )
        for index in range(VERSIONS)
    )
    with transaction.atomic():
        models.QuerySet(model=DatasetVersion).bulk_create(versions, batch_size=BATCH)
        number_to_pk = {
            (dataset_id, number): pk
            for dataset_id, number, pk in DatasetVersion.objects.filter(dataset_id__in=dataset_ids).values_list(
                "dataset_id", "number", "id"
            )
        }
        pks = [number_to_pk[dataset_ids[index // per_dataset], index % per_dataset + 1] for index in range(VERSIONS)]
        LineageEdge.objects.bulk_create(
            (LineageEdge(parent_id=pks[parent], child_id=pks[child]) for parent, child in edge_pairs()),
            batch_size=BATCH,
        )
    if connection.vendor == "postgresql":
        # Statistics current, and vacuumed as a long-lived table is: the visibility map lets the closure use
        # index-only scans, and no autovacuum of the fresh rows competes with (or changes the plan of) the
        # timed runs.
        with connection.cursor() as cursor:
            for model in (Dataset, DatasetVersion, LineageEdge):
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    return pks


def run() -> Iterator[tuple[str, float, str]]:
    pks = build_graph()
    edges = LineageEdge.objects.filter(parent_id__in=pks).count()
    if edges != EDGES:
        raise RuntimeError(f"the benchmark graph holds {edges} edges, not {EDGES}")

    root = pks[_version_index(0, 0)]
    downstream_ms, downstream = median_ms(lambda: downstream_version_ids([root]), warmup=WARMUP, runs=RUNS)
    if not downstream or root in downstream or not downstream <= set(pks):
        raise RuntimeError(f"downstream closure of {root}: {len(downstream)} versions, not a proper subset")
    yield "lineage_closure_ms", downstream_ms, "ms"
    yield "lineage_closure_nodes", float(len(downstream)), "versions"

    leaf = pks[_version_index(LAYERS - 1, WIDTH - 1)]
    upstream_ms, upstream = median_ms(lambda: upstream_version_ids([leaf]), warmup=WARMUP, runs=RUNS)
    if not upstream or leaf in upstream or not upstream <= set(pks):
        raise RuntimeError(f"upstream closure of {leaf}: {len(upstream)} versions, not a proper subset")
    yield "lineage_upstream_closure_ms", upstream_ms, "ms"
