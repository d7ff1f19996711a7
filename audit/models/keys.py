"""Every key the portal has signed evidence with, kept for good: verification material is published, not secret."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.choices import VerificationKeyKind


class VerificationKey(models.Model):
    """A public key (ledger checkpoints) or certificate (evidence packs) the portal has signed with.

    Recorded the first time it signs and never changed or removed (append-only), so that the published list
    (``/verification-keys/``, ``manage.py export_verification_keys``) still holds the keys of a rotation long past,
    and everything signed before it still verifies. ``material`` is the PEM public key or certificate; an outsider
    compares ``sha256_fingerprint`` with what the organisation announces through its own channels.
    """

    kind = models.CharField(_("kind"), max_length=24, choices=VerificationKeyKind.choices)
    sha256_fingerprint = models.CharField(_("SHA-256 fingerprint"), max_length=64, unique=True)
    key_id = models.CharField(_("key id"), max_length=64, blank=True)
    algorithm = models.CharField(_("algorithm"), max_length=40)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    material = models.TextField(_("public key or certificate (PEM)"))
    valid_from = models.DateTimeField(_("valid from (UTC)"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until (UTC)"), null=True, blank=True)
    first_used_at = models.DateTimeField(_("first used (UTC)"))

    class Meta:
        verbose_name = _("verification key")
        ordering = ["kind", "first_used_at"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256_fingerprint[:16]}"
