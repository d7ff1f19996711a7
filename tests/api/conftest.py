"""The API tests' world: the registry tests' world, plus pipeline tokens and a client that sends them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import PipelineToken
from accounts.services.tokens import pipeline_token_create
from audit.models import LedgerEntry
from governance.models import UseCase
from tests.registry.conftest import World, world  # noqa: F401 - ``world`` is a fixture

ACCOUNT = "ci-pipeline"
ACCOUNT_USERNAME = f"svc-{ACCOUNT}"


@dataclass
class Pipeline:
    """A client that speaks as one token."""

    client: APIClient
    token: PipelineToken
    secret: str

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.secret}", **(extra or {})}

    def post(self, url: str, data: Any = None, *, key: str = "", **extra: str) -> Any:
        headers = self.headers(extra)
        if key:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return self.client.post(url, data if data is not None else {}, format="json", **headers)

    def get(self, url: str) -> Any:
        return self.client.get(url, **self.headers())

    @property
    def account(self) -> Any:
        return self.token.service_account


@pytest.fixture
def issue() -> Callable[..., Pipeline]:
    """Factory: a pipeline client holding a new token (all scopes and support-assistant unless told)."""

    def make(
        *, scopes: list[str] | None = None, use_cases: tuple[str, ...] = ("support-assistant",), days: int = 90
    ) -> Pipeline:
        issued = pipeline_token_create(
            service_account_name=ACCOUNT,
            name="CI",
            use_cases=UseCase.objects.filter(slug__in=use_cases),
            scopes=scopes,
            expires_in_days=days,
            actor_name="system:test",
        )
        return Pipeline(client=APIClient(), token=issued.token, secret=issued.secret)

    return make


@pytest.fixture
def pipeline(world: World, issue: Callable[..., Pipeline]) -> Pipeline:  # noqa: F811
    return issue()


def by_service_account(entries: list[LedgerEntry]) -> bool:
    """Every entry names the service account as actor (there is at least one)."""
    return bool(entries) and all(entry.actor_name == ACCOUNT_USERNAME and entry.actor_id for entry in entries)
