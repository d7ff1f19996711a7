"""Key rotation: a pack signed before the evidence signing certificate and the ledger checkpoint key were replaced
still verifies with the keys published after, as does one signed after; each with the key it was signed with."""

import io
import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from audit import signing_keys
from evidence.signing import self_signed
from tests.evidence.helpers import manifest
from tests.verifier.conftest import build, run_verifier

pytestmark = pytest.mark.django_db


@contextmanager
def rotated_keys(folder: Path):
    """A new evidence signing certificate and a new ledger checkpoint key, as an operator rotating both does."""
    key_pem, cert_pem = self_signed("Rotated Portal")
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    signing_keys.private_key.cache_clear()
    try:
        with override_settings(
            EVIDENCE_SIGNING_KEY_FILE=str(folder / "key.pem"),
            EVIDENCE_SIGNING_CERT_FILE=str(folder / "cert.pem"),
            LEDGER_SIGNING_KEY=signing_keys.generate_private_key_pem(),
        ):
            yield
    finally:
        signing_keys.private_key.cache_clear()


def test_packs_signed_before_and_after_a_key_rotation_verify_with_the_published_keys(in_production, tmp_path) -> None:
    before = build(in_production, tmp_path / "before.pdf")
    with rotated_keys(tmp_path):
        after = build(in_production, tmp_path / "after.pdf")
        out = io.StringIO()
        call_command("export_verification_keys", stdout=out)
    keys = tmp_path / "keys.json"
    keys.write_text(out.getvalue())

    results = {pack.name: run_verifier(pack, "--trust", keys, cwd=tmp_path) for pack in (before, after)}

    assert {name: result.returncode for name, result in results.items()} == {"before.pdf": 0, "after.pdf": 0}
    assert "signer O=Test Portal,CN=Test Portal evidence signing" in results["before.pdf"].stdout
    assert "signer O=Rotated Portal,CN=Rotated Portal evidence signing" in results["after.pdf"].stdout
    key_ids = {pack.name: manifest(pack.read_bytes())["checkpoint"]["statement"]["key_id"] for pack in (before, after)}
    assert key_ids["before.pdf"] != key_ids["after.pdf"]
    for name, key_id in key_ids.items():
        assert f"signed with key {key_id}" in results[name].stdout
    published = json.loads(keys.read_text())
    assert len(published["ledger_checkpoint_keys"]) == 2
    assert len(published["evidence_signing_certificates"]) == 2


def test_a_pack_signed_after_a_rotation_fails_with_the_keys_published_before_it(in_production, tmp_path) -> None:
    """The other side of the same coin: a verifier trusts what it was given, and nothing the pack brings."""
    before = build(in_production, tmp_path / "before.pdf")
    out = io.StringIO()
    call_command("export_verification_keys", stdout=out)
    keys = tmp_path / "keys.json"
    keys.write_text(out.getvalue())
    with rotated_keys(tmp_path):
        after = build(in_production, tmp_path / "after.pdf")

    result = run_verifier(after, "--trust", keys, cwd=tmp_path)

    assert run_verifier(before, "--trust", keys, cwd=tmp_path).returncode == 0
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].startswith("FAILED document signature: the document signature was not made")
