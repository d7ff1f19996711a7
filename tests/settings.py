"""Test settings: the portal's own, plus a small governed app that exercises the trust core."""

import os

# The tests (and every process they start) run on what they set themselves, never on a checkout's .env: a local
# `make run` must not change what the suite sees. Tests of the .env itself say which file to read.
os.environ["PORTAL_ENV_FILE"] = ""

import tempfile
from pathlib import Path

from audit.signing_keys import generate_private_key_pem
from evidence.certificates import self_signed
from portal.settings import *  # noqa: F403
from portal.settings import INSTALLED_APPS, STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "tests.governed_app"]

# Hashing with PBKDF2 costs ~0.3 s per login; tests log in hundreds of times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests build ledgers with no Celery beat checkpointing them, some for minutes (the demo organisation): entries
# waiting that long for a checkpoint are a finding only in the tests of that window, which set the default back.
LEDGER_CHECKPOINT_MAX_AGE_S = 3600

# A fresh signing key and checkpoint directory per test session.
LEDGER_SIGNING_KEY = generate_private_key_pem()
LEDGER_SIGNING_KEY_FILE = ""
STORAGES = {
    **STORAGES,
    "ledger_checkpoints": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="ledger-checkpoints-")},
    },
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="documents-")},
    },
}

# A fresh self-signed evidence signing certificate per test session.
_signing = Path(tempfile.mkdtemp(prefix="evidence-signing-"))
_key_pem, _cert_pem = self_signed("Test Portal")
EVIDENCE_SIGNING_KEY_FILE = str(_signing / "key.pem")
EVIDENCE_SIGNING_CERT_FILE = str(_signing / "cert.pem")
Path(EVIDENCE_SIGNING_KEY_FILE).write_bytes(_key_pem)
Path(EVIDENCE_SIGNING_CERT_FILE).write_bytes(_cert_pem)
EVIDENCE_SIGNING_CHAIN_FILE = ""
EVIDENCE_SIGNING_KEY_PASSPHRASE = ""
TSA_URL = ""
