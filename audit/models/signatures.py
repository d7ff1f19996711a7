"""Electronic signatures as 21 CFR Part 11 describes them (§11.50 manifestation, §11.70 linking)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

#: The longest note a signer may add to a signature.
NOTE_MAX_LENGTH = 4000


class Signature(models.Model):
    """A person's signature on one record as it stood at signing time.

    ``record_digest`` is the SHA-256 of the record's governed fields, including its type and primary key,
    so a signature row copied onto another record never matches it. If the record changes later the
    digest no longer matches and the signature shows as invalidated. Rows are never updated or deleted
    (database triggers); ``ledger_entry`` is the ledger's "sign" entry written in the same transaction.
    """

    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("signer"), on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(_("printed name"), max_length=200)
    signed_at = models.DateTimeField(_("signed at (UTC)"))
    meaning = models.CharField(_("meaning"), max_length=200)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("record id"), max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    object_label = models.CharField(_("record"), max_length=300)
    record_digest = models.CharField(_("record digest (SHA-256)"), max_length=64)
    #: Optional words the signer adds to their approval ("approved on condition that..."): signed with it and kept.
    note = models.CharField(_("note"), max_length=NOTE_MAX_LENGTH, blank=True, default="")
    #: The person whose assigned review a delegate signed while they were away; the signer is the delegate.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on behalf of"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    on_behalf_of_name = models.CharField(_("on behalf of (printed name)"), max_length=200, blank=True, default="")
    ledger_entry = models.OneToOneField(
        "audit.LedgerEntry", verbose_name=_("ledger entry"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        # The name it was created with, before the trust core was its own app.
        db_table = "governance_signature"
        verbose_name = _("electronic signature")
        ordering = ["-signed_at", "-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["content_type", "object_id"], name="signature_record_idx")]

    def __str__(self) -> str:
        return f"{self.printed_name}: {self.meaning} ({self.object_label})"

    @property
    def manifestation(self) -> str:
        """The human-readable signature shown wherever the signed record is displayed (§11.50)."""
        behalf = f" on behalf of {self.on_behalf_of_name}" if self.on_behalf_of_name else ""
        return f"{self.printed_name}{behalf}, {self.signed_at:%Y-%m-%d %H:%M:%S} UTC, {self.meaning}"
