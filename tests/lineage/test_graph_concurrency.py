"""Two people adding edges at once cannot close a cycle between them (PostgreSQL, real concurrent sessions)."""

from functools import partial

import pytest
from django.core.exceptions import ValidationError

from lineage.graph import upstream_version_ids
from lineage.models import LineageEdge
from lineage.services import dataset_create, lineage_edge_add
from tests import services
from tests.concurrency import run_at_once
from tests.lineage.conftest import new_version

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_two_edges_that_together_close_a_cycle_cannot_both_be_added(steward, engineer) -> None:
    a, b, c = (
        new_version(dataset_create(actor=steward, slug=slug, name=slug, steward=steward), engineer)
        for slug in ("raw-chats", "redacted-chats", "labelled-chats")
    )
    lineage_edge_add(child=b, parent=a, actor=engineer)
    add = partial(lineage_edge_add, actor=engineer)

    raced = run_at_once(partial(add, child=c, parent=b), partial(add, child=a, parent=c), timeout=60)
    outcomes = ["refused" if outcome.refused(ValidationError) else "added" for outcome in raced]

    assert sorted(outcomes) == ["added", "refused"]
    assert LineageEdge.objects.count() == 2
    for version in (a, b, c):
        assert version.pk not in upstream_version_ids([version.pk])
