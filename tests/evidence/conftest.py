"""The evidence tests' world: the registry tests' demo organisation, with a model version taken to production."""

import pytest

from registry.choices import Environment
from tests.registry.conftest import World, world  # noqa: F401  (the fixture, reused)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def promoted(world: World):  # noqa: F811
    """support-assistant:1, gated, carded, signed and deployed to production."""
    model_version = world.model()
    world.promote(model_version, Environment.PROD)
    model_version.refresh_from_db()
    return model_version
