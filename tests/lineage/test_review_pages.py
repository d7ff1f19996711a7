"""The review actions on a dataset version's admin page, for its assigned reviewer only."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion
from lineage.selectors import assigned_reviewers, stage_of
from lineage.services import dataset_version_submit
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import sourced_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(user_in_role, engineer, crm, support_chats) -> DatasetVersion:
    user_in_role(Role.LEGAL_REVIEWER, username="the-legal-reviewer")
    return dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)


def test_the_assigned_reviewer_sees_the_actions_and_signs_after_reading_the_lineage(client: Client, submitted) -> None:
    [reviewer] = assigned_reviewers(submitted, stage_of(submitted))
    login_verified(client, reviewer)

    change_page = client.get(reverse("admin:lineage_datasetversion_change", args=[submitted.pk])).content.decode()
    sign_page = client.get(reverse("admin:lineage_datasetversion_approve", args=[submitted.pk])).content.decode()
    response = client.post(
        reverse("admin:lineage_datasetversion_approve", args=[submitted.pk]),
        {"username": reviewer.username, "password": PASSWORD},
    )

    assert "Approve (sign)" in change_page
    assert "Not usable for training" in change_page
    assert "Approved as Legal reviewer" in sign_page
    assert "<td>CRM</td>\n      <td>Contract (Art. 6(1)(b))</td>" in sign_page  # the source and its legal basis
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == DatasetVersionState.SECURITY_REVIEW


def test_a_reviewer_who_is_not_assigned_sees_no_actions_and_is_refused(client: Client, user_in_role, submitted) -> None:
    stranger = user_in_role(Role.LEGAL_REVIEWER, username="not-assigned")  # joined after the assignment
    assert stranger not in assigned_reviewers(submitted, stage_of(submitted))
    login_verified(client, stranger)

    change_page = client.get(reverse("admin:lineage_datasetversion_change", args=[submitted.pk])).content.decode()
    response = client.post(
        reverse("admin:lineage_datasetversion_approve", args=[submitted.pk]),
        {"username": stranger.username, "password": PASSWORD},
    )

    assert "Approve (sign)" not in change_page
    assert response.status_code == 403
    assert "not the assigned Legal Reviewer" in response.content.decode()
    assert LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor=stranger).exists()


def test_requesting_changes_needs_a_reason_and_sends_the_version_back_to_draft(client: Client, submitted) -> None:
    [reviewer] = assigned_reviewers(submitted, stage_of(submitted))
    login_verified(client, reviewer)
    url = reverse("admin:lineage_datasetversion_request_changes", args=[submitted.pk])

    empty = client.post(url, {"reason": ""})
    done = client.post(url, {"reason": "State the consent scope of the CRM extract."})

    assert empty.status_code == 400
    assert done.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.state, submitted.revision) == (DatasetVersionState.DRAFT, 2)
