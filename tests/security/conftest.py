"""Security tests reuse the registry tests' world (a model version whose evidence pack can be downloaded)."""

import pytest

from tests.registry.conftest import World, world  # noqa: F401  (the fixture, reused)


@pytest.fixture
def _media_in_tmp(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
