"""Subscriptions: bad input refused with a message saying what to fix and nothing saved; the secret kept
encrypted, never in the ledger, replaced by rotation; every change in the ledger."""

import hashlib
import hmac

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import LedgerEntry
from webhooks.choices import WebhookEvent
from webhooks.models import WebhookSubscription
from webhooks.services import (
    webhook_subscription_create,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)
from webhooks.signing import decrypt, fingerprint, signature, verify
from webhooks.urls_policy import described_url

pytestmark = pytest.mark.django_db

GOOD = {"name": "siem", "url": "https://hooks.example.com/portal", "events": [WebhookEvent.GATE_FAILED]}


def create(actor, **overrides):
    return webhook_subscription_create(actor=actor, **{**GOOD, **overrides})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "", "Enter the receiver's URL."),
        ("url", "ftp://hooks.example.com/x", "Enter a valid http(s) URL"),
        ("url", "hooks.example.com/portal", "Enter a valid http(s) URL"),
        ("url", "https://user:pw@hooks.example.com/portal", "Put no user name or password in the URL"),
        ("url", "https://token@hooks.example.com/portal", "Put no user name or password in the URL"),
        ("url", "https://hooks.example.com/portal#frag", "Remove the #fragment"),
        ("url", "https://hooks.example.com/" + "a" * 2000, "longer than 2000 characters"),
        ("events", [], "Choose at least one event."),
        ("events", ["gate.failed", "model.exploded"], "Unknown event(s): model.exploded."),
        ("events", "gate.failed", "Give a list of event names."),
        ("name", "  ", "Name the receiver."),
        ("name", "n" * 101, "Keep the name to 100 characters."),
    ],
)
def test_malformed_input_is_refused_with_what_to_fix(security, field, value, message) -> None:
    with pytest.raises(ValidationError) as refused:
        create(security, **{field: value})

    assert message in " ".join(refused.value.message_dict[field])
    assert not WebhookSubscription.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="webhooks.webhooksubscription").exists()


def test_production_accepts_only_https_to_public_hosts(security, settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    for url, message in [
        ("http://hooks.example.com/portal", "Use https"),
        ("https://127.0.0.1/portal", "private network"),
        ("https://10.1.2.3/portal", "private network"),
        ("https://[::1]/portal", "private network"),
        ("https://169.254.169.254/latest/meta-data", "private network"),
        ("https://localhost/portal", "private network"),
    ]:
        with pytest.raises(ValidationError) as refused:
            create(security, url=url)
        assert message in refused.value.message_dict["url"][0], url
    subscription, _secret = create(security)
    assert subscription.url == GOOD["url"]


def test_a_second_subscription_with_the_same_name_is_refused(security) -> None:
    create(security)
    with pytest.raises(ValidationError) as refused:
        create(security, url="https://other.example.com/")
    assert refused.value.message_dict["name"] == ["A subscription named 'siem' exists already."]


def test_the_secret_is_stored_encrypted_and_never_written_to_the_ledger(security) -> None:
    subscription, secret = create(security)

    assert secret.startswith("whsec_")
    assert len(secret) > 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM webhooks_webhooksubscription WHERE id = %s", [subscription.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret not in row
    assert secret[len("whsec_") :] not in row
    assert decrypt(subscription.encrypted_secret) == secret
    assert subscription.secret_fingerprint == fingerprint(secret)

    entry = LedgerEntry.objects.get(object_type="webhooks.webhooksubscription", action="create")
    assert secret not in bytes(entry.canonical).decode()
    assert entry.payload["after"] == {
        "name": "siem",
        "url": described_url(GOOD["url"]),
        "events": ["gate.failed"],
        "use_case": None,
        "active": True,
        "secret_fingerprint": fingerprint(secret),
    }
    assert entry.actor_id == security.pk


def test_rotating_the_secret_replaces_it_and_records_the_fingerprints(security) -> None:
    subscription, old = create(security)
    subscription, new = webhook_subscription_rotate_secret(subscription=subscription, actor=security)

    assert new != old
    assert decrypt(subscription.encrypted_secret) == new
    entry = LedgerEntry.objects.filter(object_type="webhooks.webhooksubscription", action="update").get()
    assert entry.payload["changes"]["secret_fingerprint"] == {"before": fingerprint(old), "after": fingerprint(new)}
    assert new not in bytes(entry.canonical).decode()


def test_an_update_records_what_changed_and_an_unchanged_save_records_nothing(security) -> None:
    subscription, _secret = create(security)
    same = {"name": "siem", "url": GOOD["url"], "events": ["gate.failed"], "use_case": None, "active": True}
    webhook_subscription_update(subscription=subscription, actor=security, **same)
    assert not LedgerEntry.objects.filter(object_type="webhooks.webhooksubscription", action="update").exists()

    webhook_subscription_update(
        subscription=subscription, actor=security, **{**same, "events": ["incident.opened", "gate.failed"]}
    )
    entry = LedgerEntry.objects.get(object_type="webhooks.webhooksubscription", action="update")
    assert entry.payload["changes"] == {
        "events": {"before": ["gate.failed"], "after": ["gate.failed", "incident.opened"]}
    }


def test_the_signature_scheme_is_hmac_sha256_of_timestamp_event_event_id_and_body() -> None:
    """The README's recipe, worked through with fixed values: every header a receiver acts on is signed."""
    event_id = "0b6f3f2e-8a63-5d51-9f3e-2d8f6a9c1b7e"
    body = b'{"event":"gate.failed"}'
    header = signature("whsec_test", 1700000000, "gate.failed", event_id, body)
    expected = hmac.new(b"whsec_test", f"1700000000.gate.failed.{event_id}.".encode() + body, hashlib.sha256)
    assert header == f"sha256={expected.hexdigest()}"
    assert verify("whsec_test", 1700000000, "gate.failed", event_id, body, header)
    assert not verify("whsec_test", 1700000001, "gate.failed", event_id, body, header)
    assert not verify("whsec_test", 1700000000, "gate.failed", event_id, b'{"event":"gate.passed"}', header)
    assert not verify("whsec_test", 1700000000, "incident.opened", event_id, body, header)
    assert not verify("whsec_test", 1700000000, "gate.failed", event_id.replace("0b", "1b"), body, header)


SLACK_STYLE = "https://hooks.example.com:8443/services/T0001/B0002/XXXXtokenXXXX?channel=ops"


def test_the_ledger_records_where_a_url_points_and_its_fingerprint_never_the_url(security) -> None:
    subscription, _secret = create(security, url=SLACK_STYLE)
    webhook_subscription_update(
        subscription=subscription,
        actor=security,
        name="siem",
        url=SLACK_STYLE.replace("XXXXtokenXXXX", "YYYYtokenYYYY"),
        events=["gate.failed"],
        use_case=None,
        active=True,
    )

    entries = LedgerEntry.objects.filter(object_type="webhooks.webhooksubscription").order_by("sequence")
    for entry in entries:
        recorded = bytes(entry.canonical).decode()
        assert "token" not in recorded
        assert "/services/" not in recorded
        assert "channel=ops" not in recorded
    create_entry, update_entry = entries
    with connection.cursor() as cursor:  # nor is it readable in a database dump
        cursor.execute("SELECT * FROM webhooks_webhooksubscription WHERE id = %s", [subscription.pk])
        assert "token" not in " ".join(str(value) for value in cursor.fetchone())
    subscription.refresh_from_db()
    assert subscription.url == SLACK_STYLE.replace("XXXXtokenXXXX", "YYYYtokenYYYY")
    fingerprint_of_url = hashlib.sha256(SLACK_STYLE.encode()).hexdigest()[:16]
    assert create_entry.payload["after"]["url"] == f"https://hooks.example.com:8443 (sha256 {fingerprint_of_url})"
    change = update_entry.payload["changes"]["url"]
    assert change["before"] != change["after"]  # a changed token still shows as a change
    assert change["after"].startswith("https://hooks.example.com:8443 (sha256 ")
