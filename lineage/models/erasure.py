from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models import GovernedModel
from lineage.choices import ErasureKind, ErasureState


class ErasureRequest(GovernedModel):
    """Something that forces data out of use: a data subject's erasure request, a decommissioned source, a
    shorter retention. Processing it revokes the approved versions that hold the data, flags the others, and
    leaves an impact report; nothing is deleted from the audit history."""

    kind = models.CharField(_("kind"), max_length=30, choices=ErasureKind.choices)
    reference = models.CharField(
        _("reference"), max_length=200, help_text=_("Ticket or pseudonymous subject reference; never the person's data")
    )
    source_systems = models.ManyToManyField(
        "lineage.SourceSystem", verbose_name=_("source systems"), related_name="erasure_requests"
    )
    period_start = models.DateField(_("data from"), null=True, blank=True)
    period_end = models.DateField(_("data until"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=20, choices=ErasureState.choices, default=ErasureState.OPEN)
    processed_at = models.DateTimeField(_("processed at (UTC)"), null=True, blank=True)
    impact_report = models.JSONField(_("impact report"), default=dict, blank=True)

    _history_m2m_fields = ("source_systems",)

    class Meta:
        verbose_name = _("erasure request")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reference}"
