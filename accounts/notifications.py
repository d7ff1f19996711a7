"""E-mail notifications: the one way any app tells a person that work is waiting for them.

An app calls ``notify`` from inside its service (a reviewer assigned, a revision submitted, a gate left
borderline); nothing is sent unless that transaction commits, and then a Celery task sends one e-mail per
recipient through Django's e-mail framework (``EMAIL_BACKEND``: the console in a pilot, SMTP in production).
The task is idempotent: each e-mail has a key, stored unique, so a retried task sends nothing twice. A person
who turned a kind off ("My notifications") is skipped when the task runs, so turning it off takes effect even
for e-mails already queued. This module knows kinds, people and text, never another app's models: callers pass
the subject, the words and the path of the page to open.
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from accounts.choices import NotificationKind
from accounts.models import NotificationDelivery, NotificationOptOut


def wants(user: AbstractBaseUser, kind: NotificationKind | str) -> bool:
    """Whether the person gets e-mails of this kind: every kind is on until they turn it off."""
    return not NotificationOptOut.objects.filter(user=user, kind=kind).exists()


def page_link(path: str) -> str:
    """The page's address as the e-mail gives it: under ``PORTAL_BASE_URL`` when set, else the bare path."""
    base = settings.PORTAL_BASE_URL
    return f"{base}{path}" if base else path


def notify(
    *,
    kind: NotificationKind,
    recipients: Iterable[AbstractBaseUser],
    key: str,
    subject: str,
    body: str,
    path: str = "",
) -> None:
    """Queue one e-mail per recipient, sent after the current transaction commits (or never, if it rolls back).

    ``key`` identifies the event (the same key for the same recipient and kind is sent once); ``path`` is the
    portal page the e-mail links to."""
    from accounts.tasks import send_notification  # the task module imports this one

    text = f"{body}\n\n{page_link(path)}\n" if path else f"{body}\n"
    for recipient in recipients:
        if not recipient.email or not recipient.is_active:
            continue
        arguments = {"recipient_id": recipient.pk, "kind": str(kind), "key": key[:200], "subject": subject[:200]}
        transaction.on_commit(lambda arguments=arguments: send_notification.delay(**arguments, body=text), robust=True)


def deliver(*, recipient_id: int, kind: str, key: str, subject: str, body: str) -> bool:
    """Send one notification unless it was sent already or its recipient turned the kind off; True if sent.

    The delivery row is written before sending, in the same transaction: if sending fails the row rolls back and
    a retry sends again; a second run finds the row (or waits on its lock) and sends nothing."""
    recipient = get_user_model().objects.filter(pk=recipient_id, is_active=True).first()
    if recipient is None or not recipient.email or not wants(recipient, kind):
        return False
    prefix = settings.EMAIL_SUBJECT_PREFIX.strip()
    try:
        with transaction.atomic():
            NotificationDelivery.objects.create(recipient=recipient, kind=kind, key=key, subject=subject)
            send_mail(f"{prefix} {subject}" if prefix else subject, body, None, [recipient.email])
    except IntegrityError:
        return False  # already sent, by an earlier run of this task
    return True
