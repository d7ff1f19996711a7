"""Deliveries reach a real receiver on loopback, signed; failures are retried with backoff and then recorded;
nothing is sent twice, for a rolled-back change, to a deactivated subscription or to a private address in
production."""

import base64
import datetime
import threading
import time
import uuid

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from accounts.choices import Role
from audit import signing_keys
from audit.canonical import canonical_bytes
from audit.checkpoints import ledger_checkpoint_create
from audit.ledger import ActionDenied
from audit.models import LedgerCheckpoint, LedgerEntry
from audit.tasks import make_ledger_checkpoint
from governance.models import UseCase
from registry.choices import IncidentSource
from registry.services.incidents import incident_open
from tests import services
from tests.concurrency import run_at_once
from webhooks.choices import DeliveryStatus, WebhookEvent
from webhooks.conf import backoff_seconds
from webhooks.delivery import webhook_delivery_attempt
from webhooks.events import EVENT_ID_NAMESPACE, deliveries_for, event_of
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_delivery_redeliver, webhook_subscription_update
from webhooks.tasks import deliver_webhook, requeue_overdue_deliveries
from webhooks.urls_policy import described_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def use_case(demo_organisation) -> UseCase:
    return UseCase.objects.get(slug="support-assistant")


@pytest.fixture
def open_incident(use_case, security):
    def open_(**overrides):
        values = {
            "use_case": use_case,
            "actor": security,
            "title": "Assistant quoted a full card number",
            "description": "A customer reported that the assistant repeated a card number back to them.",
            "severity": "sev2",
            "source": IncidentSource.COMPLAINT,
            **overrides,
        }
        return incident_open(**values)

    return open_


def test_receiver_verifies_the_signature_and_reads_the_event(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    subscribe(security)
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()

    [request] = receiver.received
    assert request.signature_ok
    delivery = WebhookDelivery.objects.get()
    entry = LedgerEntry.objects.get(object_type="registry.incident", object_id=str(incident.pk), action="create")
    assert request.headers["X-Portal-Event"] == WebhookEvent.INCIDENT_OPENED == request.json["event"]
    assert request.headers["X-Portal-Delivery"] == str(delivery.pk)
    assert request.headers["X-Portal-Event-Id"] == str(delivery.event_id) == request.json["id"]
    assert request.headers["Content-Type"] == "application/json"
    assert request.json["use_case"] == "support-assistant"
    assert request.json["object"] == {"type": "registry.incident", "id": str(incident.pk), "label": str(incident)}
    assert request.json["data"]["severity"] == "sev2"
    assert request.json["ledger"] == {"sequence": entry.sequence, "entry_hash": entry.entry_hash_hex}
    assert request.json["actor"] == entry.actor_name
    assert (delivery.status, delivery.attempt_count, delivery.response_status_code) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None


def test_a_receiver_with_another_secret_sees_the_signature_fail(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    subscribe(security)
    receiver.secret = "whsec_not-the-one-the-portal-holds"
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()

    [request] = receiver.received
    assert not request.signature_ok
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status_code, delivery.last_error) == ("failed", 401, "HTTP 401")


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    subscribe(security)
    receiver.statuses = [500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()
    delivery = WebhookDelivery.objects.get()
    for attempt in (2, 3):  # what the broker's retries (or the sweep) do
        deliver_webhook.delay(delivery.pk, attempt).get()

    assert [request.signature_ok for request in receiver.received] == [True, True, True]
    assert len({request.headers["X-Portal-Delivery"] for request in receiver.received}) == 1
    assert len({request.body for request in receiver.received}) == 1  # the same bytes, signed afresh each time
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.response_status_code) == ("delivered", 3, 204)
    assert delivery.last_error == ""


def test_without_a_broker_a_failed_attempt_is_not_retried_inside_the_request(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    """The pilot runs tasks eagerly: the change's request makes one attempt, and the retry waits its turn."""
    subscribe(security)
    receiver.statuses = [500] * 10
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()

    assert len(receiver.received) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == ("pending", 1, "HTTP 500")
    assert delivery.next_attempt_at >= before + datetime.timedelta(seconds=backoff_seconds(1))

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    assert requeue_overdue_deliveries.delay().get() == 1  # the sweep makes the second attempt
    assert len(receiver.received) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("pending", 2)


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour() -> None:
    assert [backoff_seconds(attempt) for attempt in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_after_the_last_attempt_the_failure_is_recorded(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    subscribe(security)
    receiver.statuses = [500] * 10
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()
    delivery = WebhookDelivery.objects.get()
    for attempt in (2, 3, 4, 5):
        deliver_webhook.delay(delivery.pk, attempt).get()

    assert len(receiver.received) == 4
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == ("failed", 4, "HTTP 500")
    assert delivery.next_attempt_at is None


def test_a_redirect_is_not_followed(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    subscribe(security)
    receiver.statuses = [302]
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()

    assert len(receiver.received) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "redirects are not followed" in delivery.last_error


def test_an_unreachable_receiver_is_retried_and_its_error_recorded(
    subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    subscription = subscribe(security)
    url = f"http://127.0.0.1:{port}/services/T0001/XXXXtokenXXXX?key=sekrit"
    webhook_subscription_update(
        subscription=subscription,
        actor=security,
        name=subscription.name,
        url=url,
        events=subscription.events,
        use_case=None,
        active=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    deliver_webhook.delay(delivery.pk, 2).get()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.response_status_code) == ("failed", 2, None)
    assert delivery.last_error.startswith("ConnectionError: ")
    # The URL's path and query are its credential for chat webhooks: the log shows where, not the URL.
    assert "token" not in delivery.last_error
    assert "sekrit" not in delivery.last_error
    assert described_url(url) in delivery.last_error


def test_a_delivered_delivery_is_never_sent_again(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    subscribe(security)
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()
    delivery = WebhookDelivery.objects.get()

    # A message the broker hands out twice, and a stray later attempt.
    assert deliver_webhook.delay(delivery.pk, 1).get()["status"] is None
    assert deliver_webhook.delay(delivery.pk, 2).get()["status"] is None
    assert requeue_overdue_deliveries.delay().get() == 0

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 1)


def test_nothing_is_sent_for_a_rolled_back_transaction(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    subscribe(security)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        open_incident()
        raise RuntimeError("the surrounding work failed")

    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_a_lost_message_is_requeued_by_the_sweep(receiver, subscribe, security, open_incident) -> None:
    subscribe(security)
    open_incident()  # committed (as far as the test sees) but the hand-over to the broker never ran
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert requeue_overdue_deliveries.delay().get() == 0  # not overdue yet: its own message may still come

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    assert requeue_overdue_deliveries.delay().get() == 1

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_only_subscribed_events_of_the_chosen_use_case_are_sent(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    other_use_case = UseCase.objects.exclude(slug="support-assistant").first()
    subscribe(security, name="rollbacks-only", events=[WebhookEvent.ROLLBACK])
    subscribe(security, name="other-use-case", use_case=other_use_case)
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()

    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_each_ledger_checkpoint_is_sent_as_it_is_made_with_its_signed_statement(
    receiver, subscribe, security, django_capture_on_commit_callbacks
) -> None:
    """A receiver outside the portal keeps what the database's owner cannot rewrite: the signed root of the ledger
    as it stood a minute ago, and the hash of the checkpoint's own ledger entry."""
    subscribe(security, events=[WebhookEvent.LEDGER_CHECKPOINT])
    with django_capture_on_commit_callbacks(execute=True):
        tree_size = make_ledger_checkpoint.delay().get()  # as Celery beat runs it

    [request] = receiver.received
    assert request.signature_ok
    event = request.json
    checkpoint = LedgerCheckpoint.objects.get(tree_size=tree_size)
    entry = LedgerEntry.objects.get(action="checkpoint", object_id=str(checkpoint.pk))
    assert event["event"] == WebhookEvent.LEDGER_CHECKPOINT == "ledger.checkpoint"
    assert event["use_case"] is None
    assert event["object"]["type"] == "audit.ledgercheckpoint"
    assert event["ledger"] == {"sequence": tree_size + 1, "entry_hash": entry.entry_hash_hex}
    data = event["data"]
    assert (data["tree_size"], data["root_hash"]) == (tree_size, checkpoint.root_hash_hex)
    assert canonical_bytes(data["statement"]) == bytes(checkpoint.statement)
    assert signing_keys.verify(canonical_bytes(data["statement"]), base64.b64decode(data["signature"]))


def test_a_checkpoint_goes_to_every_subscription_that_chose_it_whatever_its_use_case(
    receiver, subscribe, security, use_case
) -> None:
    """A checkpoint belongs to no use case: a subscription limited to one is told of it too."""
    subscribe(security, name="siem", events=[WebhookEvent.LEDGER_CHECKPOINT])
    subscribe(security, name="one-use-case", events=[WebhookEvent.LEDGER_CHECKPOINT], use_case=use_case)
    subscribe(security, name="gates-only", events=[WebhookEvent.GATE_FAILED])

    ledger_checkpoint_create()

    sent = WebhookDelivery.objects.filter(event=WebhookEvent.LEDGER_CHECKPOINT)
    assert sorted(sent.values_list("subscription__name", flat=True)) == ["one-use-case", "siem"]
    assert ledger_checkpoint_create() is None  # nothing new: no checkpoint, no event
    assert sent.count() == 2


def test_a_deactivated_subscription_gets_nothing_more(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks
) -> None:
    subscription = subscribe(security)
    open_incident()  # pending, not yet handed over
    webhook_subscription_update(
        subscription=subscription,
        actor=security,
        name=subscription.name,
        url=subscription.url,
        events=subscription.events,
        use_case=None,
        active=False,
    )
    delivery = WebhookDelivery.objects.get()
    deliver_webhook.delay(delivery.pk, 1).get()
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(title="A second complaint")

    assert receiver.received == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("failed", "not sent: the subscription was deactivated")
    assert WebhookDelivery.objects.count() == 1


def test_production_refuses_to_post_to_a_private_address(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    subscribe(security)  # made while private networks were allowed (a pilot), then moved to production rules
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()

    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempt_count == 1  # refused once, not retried
    assert delivery.last_error == "refused: 127.0.0.1 resolves to 127.0.0.1, which is not a public address"


def test_a_host_name_that_does_not_resolve_is_retried_without_connecting(
    subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    """A failed look-up must not let the POST go ahead: the connection would resolve the name again, unchecked."""
    subscription = subscribe(security)
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    webhook_subscription_update(
        subscription=subscription,
        actor=security,
        name=subscription.name,
        url="https://receiver.portal-test.invalid/hooks",  # .invalid never resolves (RFC 6761)
        events=subscription.events,
        use_case=None,
        active=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count, delivery.response_status_code) == ("pending", 1, None)
    assert delivery.last_error.startswith("not sent: receiver.portal-test.invalid did not resolve")
    assert delivery.next_attempt_at is not None


def test_every_role_but_the_security_reviewer_is_refused_a_subscription(user_in_role, admin_user) -> None:
    from audit.ledger import ActionDenied
    from webhooks.services import webhook_subscription_create

    for actor in (admin_user, user_in_role(Role.AUDITOR), user_in_role(Role.RISK_OFFICER)):
        with pytest.raises(ActionDenied):
            webhook_subscription_create(actor=actor, name="x", url="https://hooks.example.com/", events=["gate.failed"])
    denials = LedgerEntry.objects.filter(action="denied").order_by("sequence")
    assert [entry.payload["attempted"] for entry in denials] == ["webhook_subscription_create"] * 3


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_the_same_delivery_at_once_post_it_once(receiver, subscribe, security) -> None:
    subscription = subscribe(security)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event=WebhookEvent.GATE_FAILED, event_id=uuid.uuid4(), payload={"id": "drill"}
    )
    receiver.delay_s = 1.0

    def worker() -> object:
        return webhook_delivery_attempt(delivery_id=delivery.pk, attempt=1).status

    outcomes = [outcome.get() for outcome in run_at_once(worker, worker, timeout=30)]

    assert sorted(outcomes, key=str) == [None, DeliveryStatus.DELIVERED]  # the second gave way
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 1)


def test_a_rotated_secret_key_still_decrypts_through_its_fallback_and_not_without_it(
    receiver, subscribe, security, open_incident, django_capture_on_commit_callbacks, settings
) -> None:
    subscribe(security)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "x" * 50, [old_key]
    with django_capture_on_commit_callbacks(execute=True):
        open_incident()
    assert [request.signature_ok for request in receiver.received] == [True]

    settings.SECRET_KEY_FALLBACKS = []
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(title="A second complaint")

    assert len(receiver.received) == 1
    unreadable = WebhookDelivery.objects.latest("pk")
    assert (unreadable.status, unreadable.attempt_count) == ("failed", 1)
    assert "cannot be decrypted" in unreadable.last_error


def test_the_event_id_comes_from_the_ledger_entry_so_an_event_is_delivered_once_per_subscription(
    receiver, subscribe, security, open_incident
) -> None:
    subscribe(security)
    incident = open_incident()
    delivery = WebhookDelivery.objects.get()
    entry = LedgerEntry.objects.get(object_type="registry.incident", object_id=str(incident.pk), action="create")
    assert delivery.event_id == uuid.uuid5(EVENT_ID_NAMESPACE, f"{entry.sequence}:{WebhookEvent.INCIDENT_OPENED}")
    assert delivery.payload["id"] == str(delivery.event_id)

    with pytest.raises(IntegrityError), transaction.atomic():  # the same entry raising its event again
        deliveries_for(entry, event_of(entry.action, entry.object_type, entry.payload))
    assert WebhookDelivery.objects.count() == 1

    delivery.status = DeliveryStatus.FAILED
    delivery.save(update_fields=["status"])
    again = webhook_delivery_redeliver(delivery=delivery, actor=security)  # "send again" is still allowed
    assert (again.event_id, again.redelivery_of) == (delivery.event_id, delivery)


def _blocked_on_a_lock(thread: threading.Thread) -> bool:
    """Whether another connection waits for a row lock (or the thread already finished without waiting)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0 or not thread.is_alive()


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_two_people_sending_a_delivery_again_at_once_make_one_redelivery(receiver, subscribe, security) -> None:
    subscription = subscribe(security)
    failed = WebhookDelivery.objects.create(
        subscription=subscription,
        event=WebhookEvent.GATE_FAILED,
        event_id=uuid.uuid4(),
        payload={"id": "drill"},
        status=DeliveryStatus.FAILED,
    )
    receiver.statuses = [500] * 5  # the first redelivery stays pending whenever its attempt runs
    outcomes = []

    def second_person() -> None:
        try:
            webhook_delivery_redeliver(delivery=failed, actor=security)
            outcomes.append("sent")
        except ActionDenied as denial:
            outcomes.append(denial.reason)
        finally:
            connections.close_all()

    other = threading.Thread(target=second_person)
    with transaction.atomic():
        webhook_delivery_redeliver(delivery=failed, actor=security)  # the first, not yet committed
        other.start()
        deadline = time.monotonic() + 20
        while not _blocked_on_a_lock(other) and time.monotonic() < deadline:
            time.sleep(0.05)
    other.join(timeout=30)

    assert outcomes == [f"Delivery #{failed.pk} is already being sent again; wait for that delivery to end."]
    assert WebhookDelivery.objects.filter(redelivery_of=failed).count() == 1


def test_with_a_broker_the_hand_over_retries_briefly_and_never_fails_the_change(
    subscribe, security, open_incident, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """A broker that is down must hold the response up for a moment at most; the sweep sends the delivery later."""
    published = []

    def broker_down(args, **options):
        published.append((args, options))
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(deliver_webhook, "apply_async", broker_down)
    subscribe(security)
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()

    assert incident.pk is not None
    delivery = WebhookDelivery.objects.get()
    [(args, options)] = published
    assert args == (delivery.pk, 1)
    assert options["retry"] is True
    assert options["retry_policy"]["max_retries"] <= 2
    assert options["retry_policy"]["interval_max"] <= 0.5
    assert delivery.status == DeliveryStatus.PENDING
