"""Webhook subscriptions and the log of every delivery made to them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webhooks.choices import DeliveryStatus, WebhookEvent
from webhooks.signing import decrypt, encrypt
from webhooks.urls_policy import described_url


class WebhookSubscription(models.Model):
    """A receiver outside the portal that is told, by a signed HTTP POST, when one of ``events`` happens.

    The signing secret is shown once, when it is made; the portal must still sign with it, so it cannot be
    stored as a hash (as pipeline tokens are). It is stored encrypted (``webhooks.secrets``) under a key derived
    from ``SECRET_KEY``: a database dump or backup alone does not reveal it. So is the URL: chat webhooks carry
    their credential in its path; ``url_shown`` (origin and fingerprint) is what lists and the ledger show.
    Changes go through ``webhooks.services``, which writes the ledger (never the secret or the URL, only their
    fingerprints).
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    encrypted_url = models.TextField(_("encrypted URL"), editable=False)
    url_shown = models.CharField(
        _("URL"),
        max_length=400,
        editable=False,
        help_text=_("Where it posts and the first 16 hex digits of the URL's SHA-256: the URL itself is not shown."),
    )
    encrypted_secret = models.TextField(_("encrypted signing secret"), editable=False)
    secret_fingerprint = models.CharField(
        _("secret fingerprint"),
        max_length=16,
        editable=False,
        help_text=_("The first 16 hex digits of the secret's SHA-256: tells secrets apart without showing them."),
    )
    events = models.JSONField(_("events"), default=list)
    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("only for use case"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty: events of every use case."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at (UTC)"), default=timezone.now)
    secret_rotated_at = models.DateTimeField(_("secret made at (UTC)"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        ordering = ["name"]
        indexes = [models.Index(fields=["active"], name="webhook_sub_active_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        """The receiver's URL, decrypted: raises ``cryptography.fernet.InvalidToken`` if ``SECRET_KEY`` changed."""
        return decrypt(self.encrypted_url)

    @url.setter
    def url(self, value: str) -> None:
        self.encrypted_url, self.url_shown = encrypt(value), described_url(value)

    @classmethod
    def use_case_model(cls) -> type[models.Model]:
        """The use case model, reached through the relation rather than imported: webhooks depend only on the trust
        core and on identity, and the domain apps register their events with them."""
        return cls._meta.get_field("use_case").related_model

    def wants(self, event: str, use_case_id: int | None) -> bool:
        """Whether this subscription is told about ``event`` of a record in ``use_case_id``."""
        if not self.active or event not in self.events:
            return False
        return self.use_case_id is None or self.use_case_id == use_case_id


class WebhookDelivery(models.Model):
    """One event sent to one subscription: the body exactly as signed, and what happened to each attempt.

    Rows are made in the transaction whose ledger entry raised the event (so a rolled-back change sends
    nothing) and are never deleted; only the delivery service moves them from pending to delivered or failed.
    A redelivery is a new row pointing at the one it repeats, with the same event id, so receivers that
    de-duplicate on the event id see it once. The event id is derived from the ledger entry
    (``webhooks.events.event_id_of``), so the constraint below holds one original delivery per event and
    subscription; redeliveries are outside it, and the service allows one pending redelivery at a time.
    """

    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("subscription"), on_delete=models.PROTECT, related_name="deliveries"
    )
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    event_id = models.UUIDField(_("event id"))
    ledger_sequence = models.BigIntegerField(_("ledger entry"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_status_code = models.PositiveSmallIntegerField(_("last response status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt at (UTC)"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at (UTC)"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at (UTC)"), null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self",
        verbose_name=_("redelivery of"),
        on_delete=models.PROTECT,
        related_name="redeliveries",
        null=True,
        blank=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("redelivery requested by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [("redeliver_webhookdelivery", _("Can send a webhook delivery again"))]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["event", "-created_at"], name="webhook_delivery_event_idx"),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_sub_idx"),
            models.Index(fields=["event_id"], name="webhook_delivery_evid_idx"),
        ]
        constraints = [
            # One original delivery per event and subscription, however often the raising code runs.
            models.UniqueConstraint(
                fields=["subscription", "event_id"],
                condition=models.Q(redelivery_of__isnull=True),
                name="webhook_delivery_once_per_event",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=DeliveryStatus.DELIVERED) | models.Q(delivered_at__isnull=False),
                name="webhook_delivery_delivered_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription_id} #{self.pk}"


class SyslogCursor(models.Model):
    """How far the SIEM's syslog receiver has acknowledged the ledger: the forwarder resumes after it.

    Bookkeeping, not evidence: the entries it points into are the ledger's, and a cursor set back only sends
    entries again (each carries its sequence), never skips one. One row per destination."""

    destination = models.CharField(_("destination"), max_length=300, unique=True)
    last_sequence = models.BigIntegerField(_("last acknowledged sequence"), default=0)
    acknowledged_at = models.DateTimeField(_("acknowledged at (UTC)"), auto_now=True)

    class Meta:
        verbose_name = _("syslog forwarding cursor")
        verbose_name_plural = _("syslog forwarding cursors")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.destination} up to #{self.last_sequence}"
