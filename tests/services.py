"""Detection of the real services some tests need: PostgreSQL, a Redis broker, headless Chromium and rsyslog.

Outside CI a test whose service is absent skips with the reason; in CI the skip becomes a failure
(see the root conftest), so a missing service can never pass unnoticed.
"""

import glob
import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

#: A race between two transactions that the test drives on purpose: on SQLite it cannot happen.
postgres_race = pytest.mark.postgres(
    reason="a race between two transactions: SQLite serialises writers and has no row locks"
)
#: A Celery worker in another process, which must reach the test database.
postgres_worker = pytest.mark.postgres(
    reason="a worker in another process shares the database; the SQLite test database lives in this one's memory"
)


def postgres_missing() -> str | None:
    if connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    return None


def redis_missing() -> str | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis"):
        return "needs a Redis broker: set CELERY_BROKER_URL=redis://..."
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at CELERY_BROKER_URL is unreachable: {error}"
    return None


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_missing() -> str | None:
    if chromium_path() is None:
        return "needs Chromium: install Debian's chromium or set CHROMIUM_PATH"
    return None


def rsyslog_path() -> str | None:
    return shutil.which("rsyslogd") or next(
        (path for path in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.access(path, os.X_OK)), None
    )


def rsyslog_missing() -> str | None:
    # The receiver speaks TLS too, with rsyslog's GnuTLS network stream driver (a package of its own on Debian).
    if rsyslog_path() is None or not glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"):
        return "needs rsyslog with TLS: install Debian's rsyslog and rsyslog-gnutls"
    return None
