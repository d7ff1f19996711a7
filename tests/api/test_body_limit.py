"""The API accepts bodies up to ``API_MAX_REQUEST_BYTES`` (16 MiB) and answers 413 with a JSON error above it,
through the test client and through a real HTTP server; the admin's form posts keep Django's own smaller limit.

Django caps ``request.body`` at ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MiB), which a bulk validation run of the
documented 10,000 results passes easily once each result carries an output excerpt."""

import io
import json

import pytest
import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.api.exceptions import RequestTooLarge
from accounts.api.parsers import JSONParser
from registry.models import ValidationRun
from tests.api.test_endpoints import results_for

RUNS = "/api/v1/validation-runs"


def bulk_run(world, *, excerpt_chars: int = 400) -> dict:
    """10,000 results, each with an output excerpt: about 5 MiB of JSON."""
    results = results_for(world, count=10_000)
    for index, result in enumerate(results):
        result["output_excerpt"] = f"answer {index}: " + "The refund was issued to the original card. " * (
            excerpt_chars // 44
        )
    return {
        "model_version": world.model().identifier,
        "suite": "billing-suite",
        "started_at": timezone.now().isoformat(),
        "results": results,
    }


def size_of(body: dict) -> int:
    return len(json.dumps(body).encode())


@pytest.mark.django_db
def test_ten_thousand_results_above_djangos_form_limit_are_accepted(world, pipeline):
    body = bulk_run(world)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < size_of(body) < settings.API_MAX_REQUEST_BYTES

    response = pipeline.post(RUNS, body)

    assert response.status_code == 201, response.content[:500]
    assert ValidationRun.objects.get().results.count() == 10_000


@pytest.mark.django_db
def test_a_body_above_the_api_limit_is_413_with_a_json_error(world, pipeline, settings):
    settings.API_MAX_REQUEST_BYTES = 1_000_000
    body = bulk_run(world, excerpt_chars=100)
    assert size_of(body) > settings.API_MAX_REQUEST_BYTES

    response = pipeline.post(RUNS, body)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "the limit is 1000000" in response.json()["detail"]
    assert not ValidationRun.objects.exists()


def test_the_parser_itself_reads_no_more_than_the_limit(settings):
    """Whatever checked (or did not check) the declared length, the parser stops at the limit."""
    settings.API_MAX_REQUEST_BYTES = 10
    with pytest.raises(RequestTooLarge, match="larger than 10 bytes"):
        JSONParser().parse(io.BytesIO(b'{"a": "' + b"x" * 100 + b'"}'), "application/json", {})


@pytest.mark.django_db
def test_admin_form_posts_keep_djangos_limit(client):
    """The admin's forms are no bulk interface: a form body above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused."""
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(reverse("admin:login"), {"username": "someone", "password": "secret", "padding": padding})

    assert response.status_code == 400


# -- through a real server ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_server_accepts_ten_thousand_results_and_refuses_more_than_the_limit(live_server, world, pipeline):
    body = bulk_run(world)
    headers = {"Authorization": f"Bearer {pipeline.secret}"}
    assert size_of(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    accepted = requests.post(f"{live_server.url}{RUNS}", json=body, headers=headers, timeout=300)

    assert accepted.status_code == 201, accepted.text[:500]
    assert accepted.json()["result_count"] == 10_000

    oversized = json.dumps({**body, "padding": "x" * settings.API_MAX_REQUEST_BYTES}).encode()
    refused = requests.post(
        f"{live_server.url}{RUNS}",
        data=oversized,
        headers={**headers, "Content-Type": "application/json"},
        timeout=300,
    )

    assert refused.status_code == 413
    assert refused.headers["Content-Type"] == "application/json"
    assert f"the limit is {settings.API_MAX_REQUEST_BYTES}" in refused.json()["detail"]
    assert ValidationRun.objects.count() == 1
