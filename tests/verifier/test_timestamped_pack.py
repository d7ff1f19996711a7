"""A pack whose signature carries an RFC 3161 timestamp (TSA_URL set) verifies offline; the published keys list no
timestamping authority, so the verifier reports the time and that it is that authority's word."""

import io
import json

import pytest
from django.core.management import call_command

from audit.verification_keys import published
from registry.choices import Environment
from tests.evidence.test_pack_signature import timestamping_authority  # noqa: F401  (the fixture, reused)
from tests.registry.conftest import world  # noqa: F401  (the fixture, reused)
from tests.verifier.conftest import run_verifier

pytestmark = pytest.mark.django_db


def test_a_timestamped_pack_verifies_and_says_whose_time_it_is(
    world,  # noqa: F811
    timestamping_authority,  # noqa: F811
    settings,
    tmp_path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    model_version = world.model()
    world.promote(model_version, Environment.PROD)
    pack = tmp_path / "pack.pdf"
    call_command(
        "build_evidence_pack", "--model-version", model_version.identifier, "--output", str(pack), stdout=io.StringIO()
    )
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(published()))

    result = run_verifier(pack, "--trust", keys, cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    assert "by an authority not among the trusted keys" in result.stdout.splitlines()[0]
    assert result.stderr == ""
