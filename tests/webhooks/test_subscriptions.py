"""Subscriptions: bad input refused with a message saying what to fix and nothing saved; the secret kept
encrypted, never in the ledger, replaced by rotation; every change in the ledger."""

import hashlib
import hmac

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from governance.models import LedgerEntry
from webhooks.choices import WebhookEvent
from webhooks.models import WebhookSubscription
from webhooks.services import (
    webhook_subscription_create,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)
from webhooks.signing import decrypt, fingerprint, signature, verify

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
        "url": GOOD["url"],
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


def test_the_signature_scheme_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The README's recipe, worked through with fixed values."""
    header = signature("whsec_test", 1700000000, b'{"event":"gate.failed"}')
    expected = hmac.new(b"whsec_test", b'1700000000.{"event":"gate.failed"}', hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"
    assert verify("whsec_test", 1700000000, b'{"event":"gate.failed"}', header)
    assert not verify("whsec_test", 1700000001, b'{"event":"gate.failed"}', header)
    assert not verify("whsec_test", 1700000000, b'{"event":"gate.passed"}', header)
