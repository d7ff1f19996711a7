from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.choices import AccessKind


class AccessEvent(models.Model):
    """Someone read governed evidence: opened an audit trail, exported or downloaded it.

    Reads change nothing, so they are not ledger entries (except exports and downloads, which also are);
    they are kept here, append-only, so an auditor can answer "who has seen this record".
    """

    occurred_at = models.DateTimeField(_("occurred at (UTC)"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AccessKind.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        # The name it was created with, before the trust core was its own app.
        db_table = "governance_accessevent"
        verbose_name = _("access event")
        ordering = ["-occurred_at", "-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["object_type", "object_id"], name="access_object_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} {self.object_label}"
