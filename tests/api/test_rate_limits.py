"""Per-token request rates: above its rate a token gets 429 with Retry-After, nothing of the request is done, other
tokens and signed-in people go on, and the counter is shared through Redis by every process that serves the API."""

import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.api.throttling import PipelineTokenRateThrottle
from accounts.models import PipelineToken
from accounts.services.tokens import pipeline_token_create
from audit.models import LedgerEntry
from governance.models import UseCase
from registry.models import Incident
from tests.signing_in import login_verified

DEPLOYMENT = "/api/v1/deployments/support-assistant/dev"
#: A fixed clock, 15 seconds into a minute: counting windows are whole minutes, so Retry-After is 45.
NOW = 1_800_000_000 + 15


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttle's clock stands still, so no test straddles the edge of a counting window."""
    monkeypatch.setattr(PipelineTokenRateThrottle, "timer", staticmethod(lambda: NOW))


class Caller:
    """A pipeline client holding one token."""

    def __init__(self, *, rate: str = "", scopes: list[str] | None = None, account: str = "ci-pipeline") -> None:
        issued = pipeline_token_create(
            service_account_name=account,
            name="CI",
            use_cases=UseCase.objects.filter(slug="support-assistant"),
            scopes=scopes,
            rate_limit=rate,
            actor_name="system:test",
        )
        self.token = issued.token
        self.client = APIClient(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")

    def get(self, url: str = DEPLOYMENT) -> object:
        return self.client.get(url)


def incident_body() -> dict[str, str]:
    return {"use_case": "support-assistant", "title": "Refusal rate spike", "description": "...", "severity": "sev3"}


@pytest.mark.django_db
def test_a_token_above_its_rate_gets_429_with_retry_after(demo_organisation):
    caller = Caller(rate="3/min")
    assert [caller.get().status_code for _ in range(3)] == [200, 200, 200]

    refused = caller.get()

    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert refused.json()["detail"] == (
        "This token has sent more than its rate (3/min) allows; retry after 45 seconds. "
        "Nothing of this request was done."
    )


@pytest.mark.django_db
def test_the_count_starts_again_in_the_next_window(demo_organisation, monkeypatch):
    caller = Caller(rate="1/min")
    assert [caller.get().status_code for _ in range(2)] == [200, 429]

    monkeypatch.setattr(PipelineTokenRateThrottle, "timer", staticmethod(lambda: NOW + 45))

    assert caller.get().status_code == 200


@pytest.mark.django_db
def test_another_token_is_not_slowed_by_a_throttled_one(demo_organisation):
    busy = Caller(rate="2/min")
    other = Caller(rate="2/min")
    assert [busy.get().status_code for _ in range(3)] == [200, 200, 429]

    assert [other.get().status_code for _ in range(2)] == [200, 200]
    assert busy.get().status_code == 429


@pytest.mark.django_db
def test_a_throttled_request_writes_nothing(demo_organisation):
    caller = Caller(rate="1/min")
    assert caller.client.post("/api/v1/incidents", incident_body(), format="json").status_code == 201
    incidents, entries = Incident.objects.count(), LedgerEntry.objects.count()

    refused = caller.client.post(
        "/api/v1/incidents", {**incident_body(), "title": "Second"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
    )

    assert refused.status_code == 429
    assert Incident.objects.count() == incidents
    assert LedgerEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_throttled_token_cannot_fill_the_ledger_with_refused_scopes(demo_organisation):
    caller = Caller(rate="1/min", scopes=["gates:read"])
    assert caller.get().status_code == 403  # deployments:read is missing: a refusal, recorded
    entries = LedgerEntry.objects.count()

    assert caller.get().status_code == 429
    assert LedgerEntry.objects.count() == entries


@pytest.mark.django_db
def test_tokens_without_a_rate_of_their_own_use_the_portal_default(demo_organisation, settings):
    settings.API_TOKEN_RATE = "2/min"
    default, own = Caller(), Caller(rate="5/min")

    assert [default.get().status_code for _ in range(3)] == [200, 200, 429]
    assert [own.get().status_code for _ in range(5)] == [200] * 5
    assert default.token.rate_limit == ""
    # The ledger says which rate the token follows, not the default's value on the day it was issued.
    issued = {
        entry.object_id: entry.payload["rate_limit"]
        for entry in LedgerEntry.objects.filter(object_type="accounts.pipelinetoken", action="update")
    }
    assert (issued[str(default.token.pk)], issued[str(own.token.pk)]) == ("default", "5/min")


@pytest.mark.django_db
def test_signed_in_people_are_not_throttled_by_the_token_rate(demo_organisation, settings, client):
    settings.API_TOKEN_RATE = "1/min"
    login_verified(client, demo_organisation["mleng"])

    assert [client.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.django_db
@pytest.mark.parametrize("rate", ["lots", "0/min", "600/fortnight", "600 per minute", "-5/s", "1" * 12 + "/s"])
def test_a_malformed_rate_is_refused_and_issues_no_token(demo_organisation, rate):
    with pytest.raises(ValidationError) as refused:
        Caller(rate=rate)

    assert "rate_limit" in refused.value.message_dict
    assert not PipelineToken.objects.exists()


@pytest.fixture
def redis_cache(settings) -> Iterator[str]:
    """The default cache on the Redis of this test run, under a key prefix of its own (removed afterwards)."""
    url = django_settings.CELERY_BROKER_URL
    prefix = f"test-throttle-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    yield prefix
    connection = redis.Redis.from_url(url)
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)


@pytest.mark.redis
@pytest.mark.django_db
def test_two_processes_count_one_token_in_one_redis_counter(demo_organisation, redis_cache, monkeypatch):
    """Two gunicorn workers are two cache clients with their own connections; a token's requests through
    either are counted once, together."""
    caller = Caller(rate="3/min")
    first_worker, second_worker = caches.create_connection("default"), caches.create_connection("default")
    assert first_worker is not second_worker

    monkeypatch.setattr(PipelineTokenRateThrottle, "cache", first_worker)
    assert [caller.get().status_code for _ in range(2)] == [200, 200]
    monkeypatch.setattr(PipelineTokenRateThrottle, "cache", second_worker)
    assert [caller.get().status_code for _ in range(2)] == [200, 429]

    window = NOW // 60
    counter = f"{redis_cache}:1:throttle:token:{caller.token.prefix}:60:{window}"
    assert int(redis.Redis.from_url(django_settings.CELERY_BROKER_URL).get(counter)) == 4


@pytest.mark.django_db
def test_an_unreachable_cache_serves_the_request_and_logs_the_outage(demo_organisation, settings, caplog):
    """The rate is a guard; a cache outage must not turn every pipeline call into a 500."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    caller = Caller(rate="1/min")
    unreachable = caches.create_connection("default")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PipelineTokenRateThrottle, "cache", unreachable)
        assert [caller.get().status_code for _ in range(2)] == [200, 200]
    assert "API rate counter unavailable" in caplog.text
