"""A pipeline retrying while its first call is still running (PostgreSQL, real concurrent sessions)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from registry.models import Incident
from tests import services

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_concurrent_retries_with_one_key_create_one_incident(demo_organisation, issue):
    pipeline = issue(scopes=["incidents:write"])
    body = {"use_case": "support-assistant", "title": "Alert", "description": "Spike.", "severity": "sev3"}
    start = threading.Barrier(3)
    answers: list[tuple[int, dict]] = []

    def post() -> None:
        try:
            start.wait(timeout=30)
            headers = pipeline.headers({"HTTP_IDEMPOTENCY_KEY": "alert-race"})
            response = APIClient().post("/api/v1/incidents", body, format="json", **headers)
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert [status for status, _body in answers] == [201, 201, 201]
    assert len({body["id"] for _status, body in answers}) == 1
    assert Incident.objects.count() == 1
