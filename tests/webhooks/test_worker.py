"""The drill with real parts: a Celery worker process takes deliveries from Redis, a receiver on loopback
fails twice, the worker retries with backoff through the broker, and the third attempt is delivered."""

import time
import uuid

import pytest

from governance.models import UseCase
from portal.celery import app
from registry.choices import IncidentSource
from registry.services.incidents import incident_open
from tests import services
from tests.workers import start_worker, worker_database_url
from webhooks.models import WebhookDelivery


def wait_for(condition, *, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    return None


@pytest.fixture
def webhook_queue():
    """A queue of this test's own, so the worker takes nothing else from the broker."""
    queue = f"webhooks-drill-{uuid.uuid4().hex}"
    previous = app.conf.task_routes
    _route({"webhooks.*": {"queue": queue}})
    yield queue
    _route(previous)


def _route(routes) -> None:
    """Celery reads ``task_routes`` once into a cached routing table and router: after any earlier test sent a
    task, a changed setting would be ignored and the delivery would go to the default queue, which this test's
    worker does not read. So the cache is dropped both ways."""
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@pytest.mark.redis
@services.postgres_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_through_the_broker_until_the_receiver_accepts(
    demo_organisation, receiver, subscribe, security, webhook_queue
) -> None:
    worker = start_worker(
        webhook_queue,
        env={"DJANGO_SETTINGS_MODULE": "tests.webhooks.worker_settings", "DATABASE_URL": worker_database_url()},
    )
    try:
        subscribe(security)
        receiver.statuses = [500, 502]
        incident_open(  # commits; the delivery goes to the broker after the commit
            use_case=UseCase.objects.get(slug="support-assistant"),
            actor=security,
            title="Card number repeated",
            description="Reported by a customer.",
            severity="sev2",
            source=IncidentSource.COMPLAINT,
        )
        delivery = WebhookDelivery.objects.get()
        delivered = wait_for(
            lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").first(), timeout=120
        )
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)

    assert delivered is not None, output
    assert (delivered.attempt_count, delivered.response_status_code) == (3, 204)
    assert [request.signature_ok for request in receiver.received] == [True, True, True]
    assert "webhooks.deliver" in output
    assert "Retry in" in output
