"""One reviewer signing the same stage twice at once (two tabs, a double click) signs it once: the second
attempt finds the version already moved on (PostgreSQL, real concurrent sessions)."""

import pytest

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import Signature
from lineage.choices import STAGES, DatasetVersionState
from lineage.models import DatasetVersion
from lineage.selectors import assigned_reviewers
from lineage.services import dataset_version_review_approve, dataset_version_submit
from tests import services
from tests.concurrency import run_at_once
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import ledger_of, sourced_version

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_the_same_reviewer_approving_twice_at_once_signs_once(
    user_in_role, engineer, legal, support_chats, crm
) -> None:
    security = user_in_role(Role.SECURITY_REVIEWER, username="security")
    version = dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)

    def approve() -> None:
        dataset_version_review_approve(version=version, reviewer=legal, password=PASSWORD)

    raced = run_at_once(approve, approve, timeout=60)
    outcomes = ["refused" if outcome.refused(ActionDenied) else "approved" for outcome in raced]

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
