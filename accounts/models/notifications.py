"""E-mail notifications: what each person has turned off, and what has been sent (so a retry sends nothing twice)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import NotificationKind


class NotificationOptOut(models.Model):
    """One kind of notification a person does not want. Every kind is on until its owner turns it off, so a new
    reviewer hears about their first assignment without setting anything up. A preference, not evidence: the
    service that changes it still writes a ledger entry, so "why did nobody hear about it" has an answer."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    since = models.DateTimeField(_("turned off at (UTC)"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification turned off")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_opt_out_once")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} off"


class NotificationDelivery(models.Model):
    """An e-mail sent, by its idempotency key ("review assigned: version 12, Legal stage, revision 2"; an overdue
    reminder's key carries the day). A task that runs twice (a retry, a worker lost after sending) finds the row
    and sends nothing: the key is unique in the database, not only checked in Python."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    key = models.CharField(_("idempotency key"), max_length=200)
    subject = models.CharField(_("subject"), max_length=200)
    sent_at = models.DateTimeField(_("sent at (UTC)"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification sent")
        verbose_name_plural = _("notifications sent")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["recipient", "kind", "key"], name="notification_delivered_once")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id}: {self.key}"
