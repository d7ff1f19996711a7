"""Real Celery worker processes for the tests that drill the broker (Redis) end to end."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url() -> str:
    """The test run's own database, for a worker process that must see what the test wrote."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(queue: str, *, pool: str = "solo", env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A worker that takes tasks only from ``queue``, a queue of the test's own, so it picks up nothing another
    test left on the broker. Stop it with ``terminate()`` and read its log from ``communicate()``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
