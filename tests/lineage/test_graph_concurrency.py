"""Two people adding edges at once cannot close a cycle between them (PostgreSQL, real concurrent sessions)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from lineage.graph import upstream_version_ids
from lineage.models import LineageEdge
from lineage.services import dataset_create, lineage_edge_add
from tests import services
from tests.lineage.conftest import new_version

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_two_edges_that_together_close_a_cycle_cannot_both_be_added(steward, engineer) -> None:
    a, b, c = (
        new_version(dataset_create(actor=steward, slug=slug, name=slug, steward=steward), engineer)
        for slug in ("raw-chats", "redacted-chats", "labelled-chats")
    )
    lineage_edge_add(child=b, parent=a, actor=engineer)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def add(child, parent) -> None:
        try:
            start.wait(timeout=30)
            lineage_edge_add(child=child, parent=parent, actor=engineer)
            outcomes.append("added")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(c, b)), threading.Thread(target=add, args=(a, c))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["added", "refused"]
    assert LineageEdge.objects.count() == 2
    for version in (a, b, c):
        assert version.pk not in upstream_version_ids([version.pk])
