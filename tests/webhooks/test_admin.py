"""The admin: Security Reviewers manage subscriptions (the secret shown once), everyone else is refused; the
delivery log is read-only, and "send again" goes through the service."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from audit.models import LedgerEntry
from governance.models import UseCase
from registry.choices import IncidentSource
from registry.services.incidents import incident_open
from tests.signing_in import login_verified
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import webhook_subscription_create
from webhooks.signing import decrypt
from webhooks.urls_policy import described_url

pytestmark = pytest.mark.django_db

ADD = reverse("admin:webhooks_webhooksubscription_add")
LIST = reverse("admin:webhooks_webhooksubscription_changelist")
LOG = reverse("admin:webhooks_webhookdelivery_changelist")
FORM = {"name": "siem", "url": "https://hooks.example.com/portal", "events": ["gate.failed", "incident.opened"]}


def signed_in(client: Client, user) -> Client:
    login_verified(client, user)
    return client


def test_a_security_reviewer_creates_a_subscription_and_sees_its_secret_once(client: Client, security) -> None:
    signed_in(client, security)
    assert client.get(ADD).status_code == 200

    response = client.post(ADD, {**FORM, "active": "on"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    subscription = WebhookSubscription.objects.get()
    secret = decrypt(subscription.encrypted_secret)
    assert secret in response.content.decode()
    assert subscription.events == ["gate.failed", "incident.opened"]
    assert subscription.created_by == security

    change = client.get(reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk]))
    listing = client.get(LIST)
    for page in (change, listing):
        assert page.status_code == 200
        assert secret not in page.content.decode()
    assert subscription.secret_fingerprint in change.content.decode()


def test_a_malformed_subscription_is_refused_on_the_form_and_nothing_is_saved(client: Client, security) -> None:
    signed_in(client, security)
    response = client.post(ADD, {**FORM, "url": "https://me:pw@hooks.example.com/"})

    assert response.status_code == 400
    assert "Put no user name or password in the URL" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_a_security_reviewer_edits_and_rotates_through_the_services(client: Client, security) -> None:
    signed_in(client, security)
    client.post(ADD, FORM)
    subscription = WebhookSubscription.objects.get()
    old = decrypt(subscription.encrypted_secret)
    page = reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])

    response = client.post(page, {**FORM, "events": ["deployment.rolled_back"]})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.events, subscription.active) == (["deployment.rolled_back"], False)

    rotate = reverse("admin:webhooks_webhooksubscription_rotate_secret", args=[subscription.pk])
    assert client.get(rotate).status_code == 405
    response = client.post(rotate)
    subscription.refresh_from_db()
    new = decrypt(subscription.encrypted_secret)
    assert new != old
    assert new in response.content.decode()
    actions = LedgerEntry.objects.filter(object_type="webhooks.webhooksubscription").order_by("sequence")
    assert [entry.action for entry in actions] == ["create", "update", "update"]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.RISK_OFFICER, Role.ML_ENGINEER, None])
def test_other_roles_and_administrators_may_not_manage_subscriptions(
    client: Client, security, user_in_role, admin_user, role
) -> None:
    signed_in(client, security)
    client.post(ADD, FORM)
    subscription = WebhookSubscription.objects.get()
    client.logout()
    signed_in(client, admin_user if role is None else user_in_role(role))

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, FORM).status_code == 403
    rotate = reverse("admin:webhooks_webhooksubscription_rotate_secret", args=[subscription.pk])
    assert client.post(rotate).status_code == 403
    change = reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])
    response = client.post(change, {**FORM, "url": "https://attacker.example.net/"})
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.url == FORM["url"]
    assert WebhookSubscription.objects.count() == 1


def test_auditors_read_subscriptions_and_the_delivery_log_others_do_not(client: Client, user_in_role) -> None:
    signed_in(client, user_in_role(Role.AUDITOR))
    assert client.get(LIST).status_code == 200
    assert client.get(LOG).status_code == 200
    client.logout()
    signed_in(client, user_in_role(Role.ML_ENGINEER))
    assert client.get(LIST).status_code == 403
    assert client.get(LOG).status_code == 403


def test_send_again_makes_a_new_delivery_for_security_reviewers_only(
    client: Client,
    security,
    demo_organisation,
    receiver,
    subscribe,
    django_capture_on_commit_callbacks,
    settings,
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    subscribe(security)
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        incident_open(
            use_case=UseCase.objects.get(slug="support-assistant"),
            actor=security,
            title="Card number repeated",
            description="Reported by a customer.",
            severity="sev2",
            source=IncidentSource.COMPLAINT,
        )
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed"
    action = {"action": "redeliver", "_selected_action": [failed.pk]}

    signed_in(client, demo_organisation["auditor"])
    client.post(LOG, action)
    assert WebhookDelivery.objects.count() == 1
    detail = client.get(reverse("admin:webhooks_webhookdelivery_change", args=[failed.pk]))
    assert detail.status_code == 200
    assert failed.payload["id"] in detail.content.decode()
    client.logout()

    signed_in(client, security)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LOG, action)
    assert response.status_code == 302
    again = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert (again.redelivery_of, again.event_id, again.status) == (failed, failed.event_id, "delivered")
    assert again.requested_by == security
    assert receiver.received[-1].json == failed.payload
    assert LedgerEntry.objects.filter(object_type="webhooks.webhookdelivery", object_id=str(again.pk)).exists()


def test_the_delivery_log_takes_as_many_queries_for_forty_rows_as_for_two(
    client: Client, security, user_in_role, django_assert_max_num_queries
) -> None:
    subscription, _secret = webhook_subscription_create(actor=security, **FORM)

    def log(rows: int) -> None:
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(subscription=subscription, event="gate.failed", event_id=uuid.uuid4(), payload={})
            for _ in range(rows)
        )

    signed_in(client, user_in_role(Role.AUDITOR))
    log(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LOG).status_code == 200
    log(38)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(LOG).status_code == 200


SLACK_STYLE = "https://hooks.example.com/services/T0001/B0002/XXXXtokenXXXX"


def test_only_the_security_reviewers_edit_form_shows_the_whole_url(client: Client, security, user_in_role) -> None:
    """A chat webhook's URL is its credential: auditors see where it points and its fingerprint."""
    subscription, _secret = webhook_subscription_create(actor=security, **{**FORM, "url": SLACK_STYLE})
    change = reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])
    shown = described_url(SLACK_STYLE)

    signed_in(client, user_in_role(Role.AUDITOR))
    for page in (client.get(LIST), client.get(change)):
        assert page.status_code == 200
        assert "XXXXtokenXXXX" not in page.content.decode()
        assert shown in page.content.decode()
    assert client.get(LIST, {"q": "XXXXtokenXXXX"}).context["cl"].result_count == 0  # no probing by search
    client.logout()

    signed_in(client, security)
    assert "XXXXtokenXXXX" not in client.get(LIST).content.decode()
    assert SLACK_STYLE in client.get(change).content.decode()
