"""Discussion threads: comments on a record under review (a dataset version, a change ticket, ...)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

#: The longest comment kept; longer ones are refused with their length, not cut.
COMMENT_MAX_LENGTH = 4000


class Comment(models.Model):
    """One remark in the thread of a record. The target is generic so every app's records can carry a thread
    without this app knowing them. A comment changes nothing about its record (no state, no digest a signature
    is bound to); it is append-only (database triggers) and each has its ledger entry, written in the same
    transaction by ``accounts.services.comments.comment_add``."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    author_name = models.CharField(_("author (printed name)"), max_length=200)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("record id"), max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    text = models.TextField(_("comment"), max_length=COMMENT_MAX_LENGTH)
    posted_at = models.DateTimeField(_("posted at (UTC)"))
    ledger_entry = models.OneToOneField(
        "audit.LedgerEntry", verbose_name=_("ledger entry"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("comment")
        ordering = ["posted_at", "id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["content_type", "object_id", "posted_at"], name="comment_thread_idx")]

    def __str__(self) -> str:
        return f"{self.author_name}, {self.posted_at:%Y-%m-%d %H:%M} UTC"
