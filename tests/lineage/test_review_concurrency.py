"""One reviewer signing the same stage twice at once (two tabs, a double click) signs it once: the second
attempt finds the version already moved on (PostgreSQL, real concurrent sessions)."""

import threading

import pytest
from django.db import connection

from governance.choices import LedgerAction, Role
from governance.ledger import ActionDenied
from governance.models import Signature
from lineage.choices import STAGES, DatasetVersionState
from lineage.models import DatasetVersion
from lineage.selectors import assigned_reviewers
from lineage.services import dataset_version_review_approve, dataset_version_submit
from tests import services
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import ledger_of, sourced_version

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_the_same_reviewer_approving_twice_at_once_signs_once(
    user_in_role, engineer, legal, support_chats, crm
) -> None:
    security = user_in_role(Role.SECURITY_REVIEWER, username="security")
    version = dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve() -> None:
        try:
            start.wait(timeout=30)
            dataset_version_review_approve(version=version, reviewer=legal, password=PASSWORD)
            outcomes.append("approved")
        except ActionDenied:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["approved", "refused"]
    assert DatasetVersion.objects.get(pk=version.pk).state == DatasetVersionState.SECURITY_REVIEW
    entries = ledger_of(version)
    signs = [entry for entry in entries if entry.action == LedgerAction.SIGN]
    assert [(entry.actor, entry.payload["meaning"]) for entry in signs] == [(legal, STAGES[0].meaning)]
    assert Signature.objects.filter(object_id=str(version.pk)).count() == 1
    denials = [entry for entry in entries if entry.action == LedgerAction.DENIED]
    assert [entry.actor for entry in denials] == [legal]
    assert "Security review stage" in denials[0].payload["reason"]  # the version had moved on
    assert assigned_reviewers(DatasetVersion.objects.get(pk=version.pk), STAGES[1]) == [security]
