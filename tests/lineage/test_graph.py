"""The lineage graph: closures up and down the DAG of dataset versions are one recursive query and agree with a
plain breadth-first walk; an edge that would close a circle is refused and saves nothing."""

from collections import deque
from collections.abc import Iterable

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from audit.models import LedgerEntry
from lineage.choices import LegalBasis
from lineage.graph import downstream_version_ids, upstream_version_ids, versions_fed_by_sources
from lineage.models import LineageEdge
from lineage.services import dataset_create, lineage_edge_add, lineage_source_add
from tests.lineage.conftest import new_version, register_source

pytestmark = pytest.mark.django_db

#: parent -> child: two datasets, raw chats (a1..a3) and redacted chats (b1..b3). a1 reaches b2 by two paths
#: (a1 -> a2 -> b2 and a1 -> b1 -> b2), b3 has two parents from different branches.
EDGES = [("a1", "a2"), ("a1", "b1"), ("a2", "b2"), ("b1", "b2"), ("b2", "b3"), ("a3", "b3")]


def reachable(edges: Iterable[tuple[object, object]], start: object) -> set[object]:
    """Everything reachable from ``start`` along one or more edges (parent -> child): the reference walk."""
    children: dict[object, list[object]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    seen: set[object] = set()
    queue = deque(children.get(start, ()))
    while queue:
        node = queue.popleft()
        if node not in seen:
            seen.add(node)
            queue.extend(children.get(node, ()))
    return seen


def reversed_edges(edges: Iterable[tuple[object, object]]) -> list[tuple[object, object]]:
    return [(child, parent) for parent, child in edges]


def is_acyclic(nodes: Iterable[object], edges: Iterable[tuple[object, object]]) -> bool:
    edges = list(edges)
    return all(node not in reachable(edges, node) for node in nodes)


@pytest.fixture
def dag(steward, engineer, support_chats, redacted_chats) -> dict[str, object]:
    """Versions a1..a3 of support-chats and b1..b3 of support-chats-redacted, joined by ``EDGES``; a1 is drawn
    from the CRM, a3 from the ticketing system."""
    crm = register_source(steward, "CRM")
    tickets = register_source(steward, "Ticketing", kind="ticketing", data_categories=["communications"])
    versions = {f"a{n}": new_version(support_chats, engineer) for n in (1, 2, 3)}
    versions |= {f"b{n}": new_version(redacted_chats, engineer) for n in (1, 2, 3)}
    lineage_source_add(version=versions["a1"], actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT)
    lineage_source_add(
        version=versions["a3"], actor=engineer, source_system=tickets, legal_basis=LegalBasis.LEGITIMATE_INTERESTS
    )
    for parent, child in EDGES:
        lineage_edge_add(child=versions[child], parent=versions[parent], actor=engineer)
    return {"versions": versions, "crm": crm, "tickets": tickets}


def test_the_versions_and_edges_are_built_as_intended(dag) -> None:
    versions = dag["versions"]
    assert [versions[name].identifier for name in ("a1", "a3", "b1", "b3")] == [
        "support-chats@1",
        "support-chats@3",
        "support-chats-redacted@1",
        "support-chats-redacted@3",
    ]
    by_pk = {version.pk: name for name, version in versions.items()}
    stored = {(by_pk[parent], by_pk[child]) for parent, child in LineageEdge.objects.values_list("parent", "child")}
    assert stored == set(EDGES)


@pytest.mark.parametrize("name", ["a1", "a2", "a3", "b1", "b2", "b3"])
def test_closures_from_each_version_are_those_of_the_reference_walk(dag, name: str) -> None:
    versions = dag["versions"]
    ids = {key: version.pk for key, version in versions.items()}
    edges = [(ids[parent], ids[child]) for parent, child in EDGES]

    assert downstream_version_ids([ids[name]]) == reachable(edges, ids[name])
    assert upstream_version_ids([ids[name]]) == reachable(reversed_edges(edges), ids[name])


def test_the_closures_across_the_diamond_are_exact(dag) -> None:
    v = dag["versions"]
    names = {version.pk: name for name, version in v.items()}

    assert {names[pk] for pk in downstream_version_ids([v["a1"].pk])} == {"a2", "b1", "b2", "b3"}
    assert {names[pk] for pk in downstream_version_ids([v["a3"].pk])} == {"b3"}
    assert downstream_version_ids([v["b3"].pk]) == set()
    assert {names[pk] for pk in upstream_version_ids([v["b2"].pk])} == {"a1", "a2", "b1"}
    assert {names[pk] for pk in upstream_version_ids([v["b3"].pk])} == {"a1", "a2", "a3", "b1", "b2"}
    assert upstream_version_ids([v["a1"].pk]) == set()
    assert {names[pk] for pk in downstream_version_ids([v["a2"].pk, v["a3"].pk])} == {"b2", "b3"}
    assert downstream_version_ids([]) == set()
    assert upstream_version_ids([]) == set()


def test_versions_fed_by_a_source_include_those_drawn_from_it_and_everything_derived_from_them(dag) -> None:
    v = dag["versions"]
    names = {version.pk: name for name, version in v.items()}

    assert {names[pk] for pk in versions_fed_by_sources([dag["crm"].pk])} == {"a1", "a2", "b1", "b2", "b3"}
    assert {names[pk] for pk in versions_fed_by_sources([dag["tickets"].pk])} == {"a3", "b3"}
    assert {names[pk] for pk in versions_fed_by_sources([dag["crm"].pk, dag["tickets"].pk])} == set(v)
    assert versions_fed_by_sources([]) == set()


def test_a_closure_is_one_query(dag, django_assert_num_queries) -> None:
    v = dag["versions"]

    with django_assert_num_queries(1):
        downstream = downstream_version_ids([v["a1"].pk])
    with django_assert_num_queries(1):
        upstream = upstream_version_ids([v["b3"].pk, v["b2"].pk])

    assert len(downstream) == 4
    assert len(upstream) == 5


def test_a_version_cannot_derive_from_itself(engineer, support_chats) -> None:
    version = new_version(support_chats, engineer)
    entries = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as raised:
        lineage_edge_add(child=version, parent=version, actor=engineer)

    assert "support-chats@1 cannot derive from support-chats@1" in raised.value.messages[0]
    assert not LineageEdge.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_an_edge_that_would_close_a_cycle_is_refused_and_names_both_versions(
    engineer, support_chats, redacted_chats
) -> None:
    a = new_version(support_chats, engineer)
    b = new_version(redacted_chats, engineer)
    c = new_version(redacted_chats, engineer)
    lineage_edge_add(child=b, parent=a, actor=engineer)
    lineage_edge_add(child=c, parent=b, actor=engineer)
    entries = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as raised:
        lineage_edge_add(child=a, parent=c, actor=engineer)

    message = raised.value.messages[0]
    assert "support-chats@1" in message
    assert "support-chats-redacted@2" in message
    assert "circle" in message
    assert set(LineageEdge.objects.values_list("parent", "child")) == {(a.pk, b.pk), (b.pk, c.pk)}
    assert LedgerEntry.objects.count() == entries
    assert upstream_version_ids([a.pk]) == set()


class _RollBack(Exception):
    """Ends a hypothesis example, rolling back what it created."""


#: Up to six versions and the candidate edges between them as (parent, child) indexes, in the order tried.
GRAPHS = st.integers(min_value=2, max_value=6).flatmap(
    lambda size: st.tuples(
        st.just(size),
        st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)), max_size=14),
    )
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(graph=GRAPHS)
def test_random_edges_in_random_order_keep_the_graph_acyclic_and_the_closures_exact(
    steward, engineer, graph: tuple[int, list[tuple[int, int]]]
) -> None:
    size, candidates = graph
    try:
        with transaction.atomic():
            raw = dataset_create(actor=steward, slug="raw", name="Raw", steward=steward)
            derived = dataset_create(actor=steward, slug="derived", name="Derived", steward=steward)
            versions = [new_version(raw if index % 2 == 0 else derived, engineer) for index in range(size)]
            accepted: list[tuple[int, int]] = []
            for parent, child in candidates:
                closes_a_cycle = parent == child or parent in reachable(accepted, child)
                try:
                    lineage_edge_add(child=versions[child], parent=versions[parent], actor=engineer)
                except ValidationError:
                    refused = True
                else:
                    refused = False
                    if (parent, child) not in accepted:
                        accepted.append((parent, child))
                assert refused == closes_a_cycle, (parent, child, accepted)
                event("an edge was refused" if refused else "an edge was accepted")
                assert is_acyclic(range(size), accepted)

            index_of = {version.pk: index for index, version in enumerate(versions)}
            stored = {
                (index_of[parent], index_of[child])
                for parent, child in LineageEdge.objects.values_list("parent", "child")
            }
            assert stored == set(accepted)
            for index, version in enumerate(versions):
                assert {index_of[pk] for pk in downstream_version_ids([version.pk])} == reachable(accepted, index)
                assert {index_of[pk] for pk in upstream_version_ids([version.pk])} == reachable(
                    reversed_edges(accepted), index
                )
            raise _RollBack
    except _RollBack:
        pass
