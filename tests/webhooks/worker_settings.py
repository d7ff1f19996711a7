"""Settings of the real Celery worker the webhook drill starts: the test settings, with retries seconds apart
rather than minutes, and the loopback receiver allowed."""

from tests.settings import *  # noqa: F403

WEBHOOK_RETRY_BASE_S = 0.5
WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
