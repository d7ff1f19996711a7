"""Permission matrix of the dataset review: role x stage x action. Only the assigned member of the stage's
role may approve, request changes or reject; everyone else is refused, administrators included."""

import pytest
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts.choices import Role
from audit.ledger import ActionDenied
from lineage.choices import STAGES, DatasetVersionState
from lineage.services import (
    dataset_version_reject,
    dataset_version_request_changes,
    dataset_version_review_approve,
    dataset_version_submit,
)
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import new_version, sourced_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

ACTIONS = {
    "approve": lambda version, user: dataset_version_review_approve(version=version, reviewer=user, password=PASSWORD),
    "request_changes": lambda version, user: dataset_version_request_changes(
        version=version, reviewer=user, reason="x"
    ),
    "reject": lambda version, user: dataset_version_reject(version=version, reviewer=user, reason="x"),
}


@pytest.fixture
def reviewers(user_in_role) -> dict[Role, object]:
    return {stage.role: user_in_role(stage.role, username=f"reviewer-{stage.role.name.lower()}") for stage in STAGES}


def at_stage(stage_index: int, engineer, crm, support_chats, reviewers):
    version = dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)
    for stage in STAGES[:stage_index]:
        version = dataset_version_review_approve(version=version, reviewer=reviewers[stage.role], password=PASSWORD)
    return version


@pytest.mark.parametrize("stage_index", range(len(STAGES)), ids=[stage.state.value for stage in STAGES])
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(
    "role",
    [
        Role.LEGAL_REVIEWER,
        Role.SECURITY_REVIEWER,
        Role.COMPLIANCE_REVIEWER,
        Role.DATA_STEWARD,
        Role.ML_ENGINEER,
        Role.RISK_OFFICER,
        Role.AUDITOR,
        "administrator",
    ],
    ids=lambda role: getattr(role, "name", role),
)
def test_only_the_stages_assigned_reviewer_may_act(
    stage_index, action, role, user_in_role, admin_user, engineer, crm, support_chats, reviewers
) -> None:
    version = at_stage(stage_index, engineer, crm, support_chats, reviewers)
    stage = STAGES[stage_index]
    if role == "administrator":
        actor = admin_user
        assign_perm(f"lineage.{stage.permission}", actor, version)  # even when assigned directly
    elif role == stage.role:
        actor = reviewers[role]
    else:
        actor = user_in_role(role, username=f"other-{role.name.lower()}")
    allowed = role == stage.role

    if allowed:
        ACTIONS[action](version, actor)
        version.refresh_from_db()
        assert version.state != stage.state
    else:
        with pytest.raises(ActionDenied):
            ACTIONS[action](version, actor)
        version.refresh_from_db()
        assert version.state == stage.state


def test_the_version_list_costs_the_same_queries_for_five_versions_or_twenty(
    client: Client, engineer, support_chats, admin_user, django_assert_max_num_queries
) -> None:
    login_verified(client, admin_user)
    for _ in range(5):
        new_version(support_chats, engineer)
    with django_assert_max_num_queries(50) as five:
        client.get(reverse("admin:lineage_datasetversion_changelist"))
    for _ in range(15):
        new_version(support_chats, engineer)

    with django_assert_max_num_queries(len(five.captured_queries)):
        response = client.get(reverse("admin:lineage_datasetversion_changelist"))

    assert response.content.decode().count("support-chats@") >= 20
    assert str(DatasetVersionState.DRAFT.label) in response.content.decode()
