"""The published verification material: every ledger checkpoint key and evidence signing certificate ever used,
readable without signing in and exported by a command, kept across rotations so that what was signed before still
verifies."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from audit import signing_keys
from audit.checkpoints import ledger_checkpoint_create
from audit.models import VerificationKey
from audit.verification import verify_chain
from tests.audit.test_verify_ledger import fill

pytestmark = pytest.mark.django_db


def exported() -> dict:
    out = StringIO()
    call_command("export_verification_keys", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def rotated_ledger_key():
    """Switch the ledger signing key to a new one, as an operator rotating it does."""

    def rotate() -> None:
        signing_keys.private_key.cache_clear()
        overridden = override_settings(LEDGER_SIGNING_KEY=signing_keys.generate_private_key_pem())
        overridden.enable()
        undo.append(overridden)

    undo: list = []
    yield rotate
    for overridden in reversed(undo):
        overridden.disable()
    signing_keys.private_key.cache_clear()


def test_anyone_reads_the_keys_without_signing_in_with_full_fingerprints(client: Client) -> None:
    fill(3)
    ledger_checkpoint_create()
    ledger_key = VerificationKey.objects.get(kind="ledger_checkpoint")

    page = client.get(reverse("verification_keys"))
    listing = client.get(reverse("verification_keys_json"))

    assert page.status_code == 200
    assert ledger_key.sha256_fingerprint in page.content.decode()
    assert len(ledger_key.sha256_fingerprint) == 64
    assert listing.status_code == 200
    assert listing.json() == exported()
    [published] = listing.json()["ledger_checkpoint_keys"]
    assert published["key_id"] == signing_keys.key_id()
    assert published["sha256_fingerprint"] == ledger_key.sha256_fingerprint


def test_a_rotated_ledger_key_stays_published_and_older_checkpoints_still_verify(rotated_ledger_key) -> None:
    fill(3)
    ledger_checkpoint_create()
    first = signing_keys.key_id()
    rotated_ledger_key()
    fill(2)
    ledger_checkpoint_create()

    keys = {key["key_id"] for key in exported()["ledger_checkpoint_keys"]}
    report = verify_chain()

    assert keys == {first, signing_keys.key_id()}
    assert first != signing_keys.key_id()
    assert report.ok, report.message
