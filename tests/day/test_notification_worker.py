"""The drill with real parts: a Celery worker process takes a notification from Redis and sends it through the
e-mail backend its settings name; the same notification taken again (a redelivery) sends nothing."""

import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from accounts.models import NotificationDelivery
from accounts.tasks import send_notification
from tests import services
from tests.workers import start_worker, worker_database_url


@pytest.mark.redis
@services.postgres_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_a_notification_once(tmp_path: Path) -> None:
    person = get_user_model().objects.create_user(username="rita", email="rita@example.com", password="x" * 20)
    queue = f"notifications-drill-{uuid.uuid4().hex}"
    worker = start_worker(
        queue,
        env={
            "DJANGO_SETTINGS_MODULE": "tests.day.worker_settings",
            "DATABASE_URL": worker_database_url(),
            "NOTIFICATION_MAIL_DIR": str(tmp_path),
        },
    )
    arguments = {
        "recipient_id": person.pk,
        "kind": "review_assigned",
        "key": "dataset-version:1:revision-1:legal_review:1",
        "subject": "Review assigned to you: support-chats@1 (Legal Reviewer)",
        "body": "support-chats@1 waits for your review.",
    }
    try:
        first = send_notification.apply_async(kwargs=arguments, queue=queue).get(timeout=90)
        again = send_notification.apply_async(kwargs=arguments, queue=queue).get(timeout=90)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)

    assert (first, again) == (True, False), output
    assert NotificationDelivery.objects.filter(recipient=person).count() == 1
    [sent] = list(tmp_path.iterdir())
    text = sent.read_text()
    assert "To: rita@example.com" in text
    assert "Subject: [Governance portal] Review assigned to you: support-chats@1" in text
    assert "accounts.tasks.send_notification" in output
