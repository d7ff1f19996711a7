"""The lineage graph: dataset versions derived from other versions (edges) and from source systems.

Closures are one recursive SQL query (``WITH RECURSIVE``, on PostgreSQL and SQLite alike), not a loop of
queries: impact analysis walks from a source or a version to everything downstream of it, and the review page
walks upstream. ``UNION`` (not ``UNION ALL``) makes the walk terminate even on a graph that somehow holds a
cycle.
"""

from collections.abc import Iterable

from django.db import connection

from lineage.models import LineageEdge, LineageSource

_EDGES = LineageEdge._meta.db_table
#: Arbitrary, fixed key of the PostgreSQL advisory lock that serialises changes to the lineage graph.
LINEAGE_LOCK_KEY = 0x4C494E45  # "LINE"


def _closure(start_ids: Iterable[int], *, downstream: bool) -> set[int]:
    ids = sorted({int(pk) for pk in start_ids})
    if not ids:
        return set()
    near, far = ("parent_id", "child_id") if downstream else ("child_id", "parent_id")
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"""
        WITH RECURSIVE reached(id) AS (
            SELECT {far} FROM {_EDGES} WHERE {near} IN ({placeholders})
            UNION
            SELECT e.{far} FROM {_EDGES} e JOIN reached r ON e.{near} = r.id
        )
        SELECT id FROM reached
    """  # noqa: S608 - table and column names are constants; the ids are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return {row[0] for row in cursor.fetchall()}


def lock_graph() -> None:
    """Serialise changes to the graph until the transaction ends, so that two edges added at once cannot
    together close a cycle that neither check saw (SQLite already runs one writer at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LINEAGE_LOCK_KEY])


def downstream_version_ids(version_ids: Iterable[int]) -> set[int]:
    """Every dataset version derived, directly or not, from any of ``version_ids``. A start version is in the
    result only if it derives from another start version."""
    return _closure(version_ids, downstream=True)


def upstream_version_ids(version_ids: Iterable[int]) -> set[int]:
    """Every dataset version that any of ``version_ids`` was derived from, directly or not (a start version
    only if another start version derives from it)."""
    return _closure(version_ids, downstream=False)


def versions_fed_by_sources(source_ids: Iterable[int]) -> set[int]:
    """Versions drawn directly from the source systems, and everything derived from them."""
    direct = set(
        LineageSource.objects.filter(source_system_id__in=list(source_ids)).values_list("record__version_id", flat=True)
    )
    return direct | downstream_version_ids(direct)
