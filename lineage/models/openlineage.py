from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models import GovernedModel
from lineage.choices import OpenLineageEventType
from lineage.models.datasets import DatasetVersion


class OpenLineageRun(GovernedModel):
    """One run of a pipeline job as its OpenLineage events reported it (``lineage.openlineage``).

    OpenLineage reports a run in several events (START, RUNNING..., then COMPLETE, FAIL or ABORT), each adding
    facets to what came before. This row gathers them under the run's id, so that a repeated event records
    nothing twice and the COMPLETE event finds what START said; the draft dataset versions the completed run
    produced are linked here. It is evidence of what a pipeline reported, not a training run: training runs are
    registered through the registry's API with what reproduces them.
    """

    run_id = models.UUIDField(_("OpenLineage run id"), unique=True)
    job_namespace = models.CharField(_("job namespace"), max_length=500)
    job_name = models.CharField(_("job name"), max_length=500)
    state = models.CharField(_("state"), max_length=20, choices=OpenLineageEventType.choices)
    received = models.JSONField(
        _("event types received"),
        default=list,
        blank=True,  # a run first heard of through RUNNING or OTHER has received none of them yet
        help_text=_("Each START, COMPLETE, FAIL or ABORT counts once."),
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), on_delete=models.PROTECT, related_name="+"
    )
    producer = models.CharField(_("producer"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started at (UTC)"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at (UTC)"), null=True, blank=True)
    job_facets = models.JSONField(_("job and run facets"), default=dict, blank=True)
    inputs = models.JSONField(_("inputs"), default=list, blank=True)
    outputs = models.JSONField(_("outputs"), default=list, blank=True)
    dataset_versions = models.ManyToManyField(
        DatasetVersion, verbose_name=_("dataset versions produced"), blank=True, related_name="openlineage_runs"
    )

    _history_m2m_fields = ("dataset_versions",)

    class Meta:
        verbose_name = _("OpenLineage run")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["job_namespace", "job_name"], name="openlineage_run_job_idx")]

    def __str__(self) -> str:
        return f"{self.job_namespace}/{self.job_name} run {self.run_id}"
