"""A pipeline retrying while its first call is still running (PostgreSQL, real concurrent sessions)."""

import pytest
from rest_framework.test import APIClient

from registry.models import Incident
from tests import services
from tests.concurrency import run_at_once

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_concurrent_retries_with_one_key_create_one_incident(demo_organisation, issue):
    pipeline = issue(scopes=["incidents:write"])
    body = {"use_case": "support-assistant", "title": "Alert", "description": "Spike.", "severity": "sev3"}

    def post() -> tuple[int, dict]:
        headers = pipeline.headers({"HTTP_IDEMPOTENCY_KEY": "alert-race"})
        response = APIClient().post("/api/v1/incidents", body, format="json", **headers)
        return response.status_code, response.json()

    answers = [outcome.get() for outcome in run_at_once(post, post, post, timeout=90)]

    assert [status for status, _body in answers] == [201, 201, 201]
    assert len({body["id"] for _status, body in answers}) == 1
    assert Incident.objects.count() == 1
