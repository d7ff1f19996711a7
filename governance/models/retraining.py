import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models.base import GovernedModel
from governance.choices import RetrainingSchedule

SCHEDULE_INTERVALS = {
    RetrainingSchedule.MONTHLY: datetime.timedelta(days=30),
    RetrainingSchedule.QUARTERLY: datetime.timedelta(days=91),
    RetrainingSchedule.SEMIANNUAL: datetime.timedelta(days=182),
    RetrainingSchedule.ANNUAL: datetime.timedelta(days=365),
}


class RetrainingCadence(GovernedModel):
    """When a use case's model must be retrained: on a schedule, and whenever one of its trigger events happens.

    A scheduled task flags the use case as due (``due_since``); the flag stays until a retraining is recorded.
    """

    use_case = models.OneToOneField(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="retraining_cadence",
    )
    schedule = models.CharField(_("schedule"), max_length=20, choices=RetrainingSchedule.choices)
    triggers = models.JSONField(_("trigger events"), default=list, blank=True)
    last_retrained_at = models.DateTimeField(_("last retrained (UTC)"), null=True, blank=True)
    due_since = models.DateTimeField(_("due since (UTC)"), null=True, blank=True, db_index=True)
    due_reason = models.CharField(_("why due"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("retraining cadence")
        ordering = ["use_case_id"]

    def __str__(self) -> str:
        return f"{self.use_case}: {self.get_schedule_display()}"

    @property
    def next_due_at(self) -> datetime.datetime | None:
        interval = SCHEDULE_INTERVALS.get(self.schedule)
        if interval is None or self.last_retrained_at is None:
            return None
        return self.last_retrained_at + interval
