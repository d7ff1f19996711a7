"""Delegation while away: a reviewer names someone holding the same role to sign their assigned reviews."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from audit.models.base import GovernedModel


class Delegation(GovernedModel):
    """``delegator`` is away from ``starts`` to ``ends``; meanwhile ``delegate`` (who holds the same ``role``)
    sees and signs the reviews assigned to the delegator in that role, each signature saying "on behalf of".

    Governed (history and ledger) because it widens who may sign. Ending it early sets ``ended_at``; the row
    stays, so a signature made on behalf of someone can always be traced to the delegation that allowed it.
    No chains: a delegate cannot delegate what was delegated to them (``accounts.services.delegations``).
    """

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("away (delegator)"), on_delete=models.PROTECT, related_name="+"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("stands in (delegate)"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    starts = models.DateTimeField(_("from (UTC)"))
    ends = models.DateTimeField(_("until (UTC)"))
    reason = models.CharField(_("reason"), max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended early at (UTC)"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("delegation")
        ordering = ["-starts", "-id"]
        default_permissions = ("view",)
        permissions = [("manage_delegation", _("Can create or end any person's delegation (administrator)"))]
        indexes = [models.Index(fields=["delegate", "ends"], name="delegation_delegate_ends_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(delegator=F("delegate")), name="delegation_not_to_self"),
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="delegation_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate} ({self.role}, {self.starts:%Y-%m-%d} to {self.ends:%Y-%m-%d})"

    def is_active(self, at: "timezone.datetime | None" = None) -> bool:
        at = at or timezone.now()
        return self.ended_at is None and self.starts <= at < self.ends
