"""The reviewer's landing page lists the versions waiting for their review, and only those."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from lineage.selectors import assigned_reviewers, stage_of
from lineage.services import dataset_version_submit
from tests.lineage.conftest import sourced_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def test_the_assigned_legal_reviewer_sees_the_version_and_another_does_not(
    client: Client, user_in_role, steward, engineer, crm, support_chats
) -> None:
    other_legal = user_in_role(Role.LEGAL_REVIEWER, username="legal-two")
    assigned_legal = user_in_role(Role.LEGAL_REVIEWER, username="legal-one")
    version = dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)
    [assignee] = assigned_reviewers(version, stage_of(version))
    not_assigned = other_legal if assignee == assigned_legal else assigned_legal

    login_verified(client, assignee)
    mine = client.get(reverse("admin:index")).content.decode()
    login_verified(client, not_assigned)
    theirs = client.get(reverse("admin:index")).content.decode()

    assert "Dataset versions waiting for my review" in mine
    assert f"{version} (Legal review, revision 1)" in mine
    assert str(version) not in theirs


def test_the_queue_costs_the_same_queries_for_one_version_or_many(
    client: Client, user_in_role, engineer, crm, support_chats, django_assert_max_num_queries
) -> None:
    legal = user_in_role(Role.LEGAL_REVIEWER, username="only-legal")
    login_verified(client, legal)
    dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)
    with django_assert_max_num_queries(20) as one:
        client.get(reverse("admin:index"))
    for _ in range(4):
        dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)

    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("admin:index")).content.decode()

    assert page.count("(Legal review, revision 1)") == 5
