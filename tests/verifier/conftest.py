"""The standalone verifier's world: one real signed pack of a model version in production and
the portal's published keys, made once per test module (in a transaction rolled back after), and the verifier run
as an auditor runs it: its own process, with no Django settings and no database in its environment."""

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from accounts.demo import DEFAULT_DEMO_PASSWORD, seed_demo_logins
from audit.models import LedgerEntry
from audit.verification_keys import published
from governance.catalogue import load_controls
from registry.choices import Environment
from tests.evidence.helpers import manifest
from tests.registry.conftest import make_world, world  # noqa: F401  (the fixture, reused)


@dataclass(frozen=True)
class Issued:
    """A pack as the portal issued it, the published keys, and what a forger holding the document signing key would
    also know: every entry hash of the ledger the pack's checkpoint covers."""

    pdf: Path
    keys: Path
    entry_hashes: list[bytes]

    @property
    def signing_key_files(self) -> tuple[str, str]:
        return settings.EVIDENCE_SIGNING_KEY_FILE, settings.EVIDENCE_SIGNING_CERT_FILE


def promoted_model_version() -> str:
    """The registry tests' world (the demo organisation and its lineage) with a model version taken to production;
    returns its identifier."""
    load_controls()
    seed_demo_logins(password=DEFAULT_DEMO_PASSWORD)
    for app in ("governance", "lineage"):
        import_module(f"{app}.demo_organisation").seed(password=DEFAULT_DEMO_PASSWORD)
    demo = make_world({user.username: user for user in get_user_model().objects.all()})
    model_version = demo.model()
    demo.promote(model_version, Environment.PROD)
    return model_version.identifier


@pytest.fixture
def in_production(world, settings, tmp_path) -> str:  # noqa: F811
    """A model version taken to production in this test's database; its identifier."""
    settings.MEDIA_ROOT = tmp_path / "media"
    model_version = world.model()
    world.promote(model_version, Environment.PROD)
    return model_version.identifier


def build(model_version: str, output: Path) -> Path:
    call_command("build_evidence_pack", "--model-version", model_version, "--output", str(output), stdout=io.StringIO())
    return output


def write_keys(path: Path) -> Path:
    """The published keys, as ``/verification-keys.json`` serves them."""
    path.write_text(json.dumps(published(), indent=2))
    return path


@pytest.fixture(scope="module")
def issued(django_db_setup, django_db_blocker, tmp_path_factory) -> Issued:
    folder = tmp_path_factory.mktemp("issued")
    pdf = folder / "pack.pdf"
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=folder / "media"), transaction.atomic():
        model_version = promoted_model_version()
        call_command("build_evidence_pack", "--model-version", model_version, "--output", str(pdf))
        keys = write_keys(folder / "keys.json")
        tree_size = manifest(pdf.read_bytes())["checkpoint"]["statement"]["tree_size"]
        hashes = LedgerEntry.objects.filter(sequence__lte=tree_size).order_by("sequence").values_list("entry_hash")
        entry_hashes = [bytes(value) for (value,) in hashes]
        transaction.set_rollback(True)
    return Issued(pdf=pdf, keys=keys, entry_hashes=entry_hashes)


def as_an_auditor(command: list[object], *, cwd: Path) -> subprocess.CompletedProcess:
    """``command`` in a process of its own, started in ``cwd`` (not the repository), with nothing in its environment
    that would point it at the portal's settings or database."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH"}
    }
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_verifier(*arguments: object, cwd: Path) -> subprocess.CompletedProcess:
    """``verify-evidence-pack ARGUMENTS``, the installed command, run as an auditor runs it."""
    return as_an_auditor([Path(sys.executable).with_name("verify-evidence-pack"), *arguments], cwd=cwd)
