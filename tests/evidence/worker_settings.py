"""Settings of the real Celery worker the worker-loss drill starts: the test session's database, signing keys,
checkpoint directory and media directory, handed over through the environment."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import STORAGES

LEDGER_SIGNING_KEY = os.environ["EVIDENCE_DRILL_SIGNING_KEY"]
EVIDENCE_SIGNING_KEY_FILE = os.environ["EVIDENCE_DRILL_EVIDENCE_KEY_FILE"]
EVIDENCE_SIGNING_CERT_FILE = os.environ["EVIDENCE_DRILL_EVIDENCE_CERT_FILE"]
MEDIA_ROOT = os.environ["EVIDENCE_DRILL_MEDIA_ROOT"]
STORAGES = {
    **STORAGES,
    "ledger_checkpoints": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ["EVIDENCE_DRILL_CHECKPOINT_DIR"]},
    },
}
