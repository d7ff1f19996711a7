"""Settings of the real Celery worker the notification drill starts: the test settings, with e-mails written as
files into the directory the test names (the worker is another process: the test cannot read its outbox)."""

import os

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["NOTIFICATION_MAIL_DIR"]
