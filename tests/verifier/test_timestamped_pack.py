"""A pack whose signature carries an RFC 3161 timestamp (TSA_URL set) verifies offline; the published keys list no
timestamping authority, so the verifier reports the time and that it is that authority's word."""

import json

import pytest

from audit.verification_keys import published
from tests.evidence.test_pack_signature import timestamping_authority  # noqa: F401  (the fixture, reused)
from tests.verifier.conftest import build, run_verifier

pytestmark = pytest.mark.django_db


def test_a_timestamped_pack_verifies_and_says_whose_time_it_is(
    in_production,
    timestamping_authority,  # noqa: F811
    tmp_path,
) -> None:
    pack = build(in_production, tmp_path / "pack.pdf")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(published()))

    result = run_verifier(pack, "--trust", keys, cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    assert "by an authority not among the trusted keys" in result.stdout.splitlines()[0]
    assert result.stderr == ""
