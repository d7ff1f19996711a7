from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models import GovernedModel
from lineage.choices import SourceStatus


class SourceSystem(GovernedModel):
    """A system of record training data is drawn from (CRM, ticketing, call transcripts, ...)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=100, help_text=_("e.g. CRM, ticketing, call transcripts"))
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    data_categories = models.JSONField(_("data categories"), default=list, blank=True)
    default_retention_days = models.PositiveIntegerField(_("default retention (days)"))
    status = models.CharField(_("status"), max_length=20, choices=SourceStatus.choices, default=SourceStatus.ACTIVE)
    decommissioned_at = models.DateTimeField(_("decommissioned at (UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("source system")
        ordering = ["name"]
        indexes = [models.Index(fields=["status"], name="source_status_idx")]

    def __str__(self) -> str:
        return self.name
