"""The Celery app is configured so that no task is lost, and a real worker runs tasks from Redis."""

import uuid

import pytest

from portal.celery import app, ping
from tests.workers import start_worker


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_only_json_crosses_the_broker() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]


def test_eager_task_returns_its_result() -> None:
    assert ping.delay().get(timeout=5)["pong"]


@pytest.mark.redis
def test_a_real_worker_process_completes_a_task_from_redis() -> None:
    queue = f"test-{uuid.uuid4().hex}"
    worker = start_worker(queue)
    try:
        result = ping.apply_async(queue=queue)
        answer = result.get(timeout=90)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)

    assert answer["pong"], output
    assert result.status == "SUCCESS"
    assert "portal.ping" in output
