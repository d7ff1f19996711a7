"""Request throughput of admin pages through Django's test client (the full middleware stack, no network)."""

import time
from collections.abc import Iterator

from django.test import Client
from django.urls import reverse

WARMUP = 20
REQUESTS = 500


def requests_per_second(client: Client, url: str) -> float:
    for _ in range(WARMUP):
        client.get(url)
    started = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    return REQUESTS / (time.perf_counter() - started)


def run() -> Iterator[tuple[str, float, str]]:
    yield "admin_login_page_requests_per_s", requests_per_second(Client(), reverse("admin:login")), "req/s"
