"""The latest gate decision of a model version, the one promotion, provenance checks, comparisons, cards and the
landing page all judge it by: read for one version, or for many in the queries of one."""

import pytest

from governance.choices import EvaluationDimension
from registry.selectors import latest_gate_decision, latest_gate_decisions

pytestmark = pytest.mark.django_db


def test_the_latest_of_a_versions_gate_decisions_is_the_one_that_counts(world) -> None:
    gated, ungated = world.model(), world.model()
    world.gate(gated, rates={EvaluationDimension.TONE: (1, 10)})
    latest = world.gate(gated)

    assert latest_gate_decision(gated) == latest
    assert latest_gate_decision(ungated) is None
    assert latest_gate_decisions([gated, ungated]) == {gated.pk: latest}
    assert latest_gate_decisions([gated.pk]) == {gated.pk: latest}
    assert latest_gate_decisions([]) == {}


def test_the_latest_gate_decisions_of_many_versions_take_the_queries_of_one(world, django_assert_num_queries) -> None:
    first = world.model()
    world.gate(first)
    more = [world.model() for _ in range(3)]
    for version in more:
        world.gate(version)
        world.gate(version)

    with django_assert_num_queries(1):
        latest = latest_gate_decisions([first, *more])
    with django_assert_num_queries(0):
        named = [(str(gate.suite), gate.threshold_policy.revision) for gate in latest.values()]

    assert set(latest) == {first.pk, *(version.pk for version in more)}
    assert len(named) == 4
