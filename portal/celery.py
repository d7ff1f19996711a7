"""The Celery application. Configuration lives in settings under the ``CELERY_`` prefix."""

import os
import socket

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="portal.ping")
def ping() -> dict[str, str]:
    """Answers from whichever worker picked it up: operations use it to check the queue end to end
    (``celery -A portal call portal.ping``)."""
    return {"pong": socket.gethostname()}
