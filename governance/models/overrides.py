from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class BreakGlassOverride(models.Model):
    """An emergency bypass of a gate, approved and signed by a second person.

    Rare by design and never silent: it is written to the ledger, it cannot be changed afterwards
    (database triggers), and every evidence pack that covers the record lists it.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("record id"), max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    object_label = models.CharField(_("record"), max_length=300)
    gate = models.CharField(_("gate bypassed"), max_length=200)
    justification = models.TextField(_("justification"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT, related_name="+"
    )
    approval_signature = models.OneToOneField(
        "audit.Signature",
        verbose_name=_("approval signature"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    ledger_entry = models.OneToOneField(
        "audit.LedgerEntry", verbose_name=_("ledger entry"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at (UTC)"), auto_now_add=True)

    class Meta:
        verbose_name = _("break-glass override")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [("approve_breakglassoverride", _("Can approve a break-glass override"))]
        indexes = [models.Index(fields=["content_type", "object_id"], name="override_record_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(requested_by=models.F("approved_by")),
                name="override_needs_a_second_person",
            )
        ]

    def __str__(self) -> str:
        return f"Break-glass: {self.gate} on {self.object_label}"
