"""E-mail notifications: sent after commit, once per event, to people who did not turn that kind off; each person
chooses on "My notifications"."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import NotificationKind, Role
from accounts.models import NotificationDelivery, NotificationOptOut
from accounts.notifications import deliver
from accounts.services.delegations import delegation_create
from accounts.services.notification_preferences import notification_preferences_set
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from governance.services.thresholds import threshold_revision_propose
from lineage.services import dataset_version_submit
from tests.governance.test_thresholds import PLAYBOOK_RULES
from tests.lineage.conftest import sourced_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def submit(support_chats, engineer, crm, capture):
    with capture(execute=True):
        return dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)


def test_the_assigned_reviewer_is_emailed_once_the_submission_commits(
    reviewer, engineer, crm, support_chats, django_capture_on_commit_callbacks
) -> None:
    version = submit(support_chats, engineer, crm, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == ["lena@example.com"]
    assert message.subject == f"[Governance portal] Review assigned to you: {version} (Legal Reviewer)"
    assert f"/admin/lineage/datasetversion/{version.pk}/change/" in message.body
    assert NotificationDelivery.objects.get().kind == NotificationKind.REVIEW_ASSIGNED


def test_nothing_is_sent_when_the_transaction_rolls_back(reviewer, engineer, crm, support_chats) -> None:
    version = sourced_version(support_chats, engineer, crm)
    # Without the on-commit callbacks run (the test's transaction never commits), nothing is sent.
    dataset_version_submit(version=version, actor=engineer)

    assert mail.outbox == []


def test_a_person_who_turned_the_kind_off_is_not_emailed(
    reviewer, engineer, crm, support_chats, django_capture_on_commit_callbacks
) -> None:
    notification_preferences_set(user=reviewer, enabled=[NotificationKind.REVIEW_OVERDUE])

    submit(support_chats, engineer, crm, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert not NotificationDelivery.objects.exists()


def test_the_same_notification_delivered_twice_is_sent_once(reviewer) -> None:
    arguments = {"recipient_id": reviewer.pk, "kind": "review_assigned", "key": "k-1", "subject": "S", "body": "B"}

    assert deliver(**arguments) is True
    assert deliver(**arguments) is False  # a retried task
    assert len(mail.outbox) == 1


def test_a_proposed_threshold_revision_is_emailed_to_those_who_may_approve_it(
    user_in_role, django_capture_on_commit_callbacks
) -> None:
    proposer = user_in_role(Role.RISK_OFFICER, username="rita")
    approver = user_in_role(Role.COMPLIANCE_REVIEWER, username="carl")
    for person in (proposer, approver):
        person.email = f"{person.username}@example.com"
        person.save()

    with django_capture_on_commit_callbacks(execute=True):
        threshold_revision_propose(use_case=None, actor=proposer, rules=PLAYBOOK_RULES, rationale="Playbook.")

    assert [message.to for message in mail.outbox] == [["carl@example.com"]]  # not the proposer
    assert "Awaiting your approval" in mail.outbox[0].subject


def test_my_notifications_page_turns_kinds_off_and_on_and_records_it(client: Client, reviewer) -> None:
    login_verified(client, reviewer)
    page = reverse("admin:my_notifications")

    assert "My notifications" in client.get(reverse("admin:index")).content.decode()  # the user menu
    response = client.post(page, {"enabled": ["review_assigned", "gate_decision"]})

    assert response.status_code == 302
    off = set(NotificationOptOut.objects.filter(user=reviewer).values_list("kind", flat=True))
    assert off == {"approval_awaited", "review_overdue"}
    entry = LedgerEntry.objects.filter(action=LedgerAction.UPDATE, actor=reviewer).last()
    assert entry.payload["notifications_off"] == ["approval_awaited", "review_overdue"]
    client.post(page, {"enabled": NotificationKind.values})
    assert not NotificationOptOut.objects.filter(user=reviewer).exists()


def test_an_unknown_kind_is_refused_and_changes_nothing(client: Client, reviewer) -> None:
    login_verified(client, reviewer)

    response = client.post(reverse("admin:my_notifications"), {"enabled": ["review_assigned", "x" * 5000]})

    assert response.status_code == 400
    assert not NotificationOptOut.objects.exists()


def test_a_person_changes_only_their_own_preferences(client: Client, reviewer, stand_in) -> None:
    login_verified(client, stand_in)

    client.post(reverse("admin:my_notifications"), {"enabled": []})

    assert NotificationOptOut.objects.filter(user=stand_in).count() == len(NotificationKind.values)
    assert not NotificationOptOut.objects.filter(user=reviewer).exists()


def test_the_preferences_page_needs_a_signed_in_person(client: Client) -> None:
    response = client.get(reverse("admin:my_notifications"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_while_the_reviewer_is_away_their_delegate_is_emailed_too(
    reviewer, stand_in, engineer, crm, support_chats, django_capture_on_commit_callbacks
) -> None:
    now = timezone.now()
    delegation_create(
        delegator=reviewer,
        delegate=stand_in,
        role=Role.LEGAL_REVIEWER,
        starts=now,
        ends=now + timedelta(days=3),
        reason="Leave.",
        actor=reviewer,
    )

    submit(support_chats, engineer, crm, django_capture_on_commit_callbacks)

    assert sorted(message.to[0] for message in mail.outbox) == ["lena@example.com", "luis@example.com"]
