from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models import GovernedModel
from registry.choices import IncidentSeverity, IncidentSource, IncidentState, RootCauseKind

_PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class Incident(ConcurrentTransitionMixin, GovernedModel):
    """Something a model did that it should not have: contained, traced to its root cause in the training
    run, data or configuration, and closed with follow-ups. SEV1 and SEV2 close only after a post-incident
    review."""

    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="incidents"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what happened"))
    severity = models.CharField(_("severity"), max_length=10, choices=IncidentSeverity.choices)
    source = models.CharField(_("source"), max_length=20, choices=IncidentSource.choices)
    state = FSMField(
        _("state"), max_length=20, choices=IncidentState.choices, default=IncidentState.OPEN, protected=True
    )
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("affected model version"),
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    deployment = models.ForeignKey(
        "registry.Deployment",
        verbose_name=_("deployment"),
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    detected_at = models.DateTimeField(_("detected at (UTC)"), default=timezone.now)
    reported_by = models.CharField(_("reported by"), max_length=200)
    containment = models.JSONField(_("containment taken"), default=list, blank=True)
    root_cause_kind = models.CharField(_("root cause"), max_length=20, choices=RootCauseKind.choices, blank=True)
    root_cause_training_run = models.ForeignKey(
        "registry.TrainingRun",
        verbose_name=_("root cause: training run"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    root_cause_dataset_version = models.ForeignKey(
        "lineage.DatasetVersion",
        verbose_name=_("root cause: dataset version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    root_cause_summary = models.TextField(_("root cause analysis"), blank=True)
    followup_cases = models.ManyToManyField(
        "registry.ValidationCase", verbose_name=_("follow-up validation cases"), blank=True, related_name="+"
    )
    followup_retraining = models.BooleanField(_("retraining requested"), default=False)
    post_incident_review = models.TextField(_("post-incident review"), blank=True)
    closed_at = models.DateTimeField(_("closed at (UTC)"), null=True, blank=True)

    _history_m2m_fields = ("followup_cases",)

    class Meta:
        verbose_name = _("incident")
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["state", "severity"], name="incident_state_idx")]
        permissions = [("close_incident", _("Can close incidents"))]

    def __str__(self) -> str:
        return f"{self.identifier} [{self.get_severity_display().split(':')[0]}] {self.title}"

    @property
    def identifier(self) -> str:
        return f"INC-{self.pk}"

    @transition(field=state, source=IncidentState.DRAFT, target=IncidentState.OPEN)
    def confirm(self) -> None:
        """A person confirmed what monitoring raised."""

    @transition(field=state, source=IncidentState.DRAFT, target=IncidentState.DISMISSED)
    def dismiss(self) -> None:
        """A false alarm, with the reason on record."""

    @transition(field=state, source=[IncidentState.OPEN, IncidentState.CONTAINED], target=IncidentState.CONTAINED)
    def contain(self) -> None:
        """Harm stopped: rollback, kill switch, rate limit or a disabled intent."""

    @transition(field=state, source=[IncidentState.OPEN, IncidentState.CONTAINED], target=IncidentState.RESOLVED)
    def resolve(self) -> None:
        """Root cause known and follow-ups set."""

    @transition(field=state, source=IncidentState.RESOLVED, target=IncidentState.CLOSED)
    def close(self) -> None:
        """Done; SEV1/2 only with a post-incident review."""


class MonitoringSummary(GovernedModel):
    """What a deployment did in one period, as the serving side reports it. A rate above the deployment's
    alert threshold opens a draft incident."""

    deployment = models.ForeignKey(
        "registry.Deployment", verbose_name=_("deployment"), on_delete=models.PROTECT, related_name="monitoring"
    )
    model_version = models.ForeignKey(
        "registry.ModelVersion", verbose_name=_("model version served"), on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateTimeField(_("period start (UTC)"))
    period_end = models.DateTimeField(_("period end (UTC)"))
    volume = models.PositiveBigIntegerField(_("conversations"))
    policy_violation_rate = models.DecimalField(
        _("policy violations (%)"), max_digits=5, decimal_places=2, validators=_PERCENT
    )
    refusal_rate = models.DecimalField(_("refusals (%)"), max_digits=5, decimal_places=2, validators=_PERCENT)
    escalation_rate = models.DecimalField(_("escalations (%)"), max_digits=5, decimal_places=2, validators=_PERCENT)
    human_override_rate = models.DecimalField(
        _("human overrides (%)"), max_digits=5, decimal_places=2, validators=_PERCENT
    )
    #: Computed summaries only: the period's escalated answers no reviewer had decided when it was computed.
    review_backlog = models.PositiveIntegerField(_("escalations awaiting review"), null=True, blank=True)
    alerts = models.JSONField(_("alerts raised"), default=list, blank=True)
    incident = models.ForeignKey(
        Incident, verbose_name=_("incident opened"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reported_by = models.CharField(_("reported by"), max_length=200)

    class Meta:
        verbose_name = _("monitoring summary")
        verbose_name_plural = _("monitoring summaries")
        ordering = ["-period_end", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "period_start", "period_end"], name="monitoring_period_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")), name="monitoring_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deployment} {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"


class ModelCard(GovernedModel):
    """One revision of a model version's card. Generated sections are computed from the records (lineage,
    gates, deployments) when the revision is made; written sections are the owners' words. A new revision is
    a new row, so every card an auditor was shown stays as it was."""

    model_version = models.ForeignKey(
        "registry.ModelVersion", verbose_name=_("model version"), on_delete=models.PROTECT, related_name="cards"
    )
    revision = models.PositiveIntegerField(_("revision"))
    generated = models.JSONField(_("generated sections"))
    intended_use = models.TextField(_("intended use"), blank=True)
    out_of_scope_use = models.TextField(_("out-of-scope use"), blank=True)
    known_risks = models.TextField(_("known risks and mitigations"), blank=True)
    escalation_paths = models.TextField(_("escalation paths"), blank=True)
    regulatory_considerations = models.TextField(_("regulatory considerations"), blank=True)
    changes = models.JSONField(_("changes since the previous card"), default=dict, blank=True)
    what_changed = models.TextField(
        _("what changed"),
        blank=True,
        help_text=_(
            "In the owners' words, what changed since the previous model version: data, settings, behaviour. "
            "Checked against the recorded differences; naming a dataset that did not change, or saying the data "
            "did not change when it did, raises a provenance flag."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("written by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)

    WRITTEN_SECTIONS = (
        "intended_use",
        "out_of_scope_use",
        "known_risks",
        "escalation_paths",
        "regulatory_considerations",
    )

    class Meta:
        verbose_name = _("model card")
        ordering = ["model_version_id", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "revision"], name="model_card_revision_unique"),
        ]

    def __str__(self) -> str:
        return f"Model card {self.model_version} r{self.revision}"

    def missing_sections(self) -> list[str]:
        """The written sections still empty: a card is complete when none is."""
        return [
            str(self._meta.get_field(name).verbose_name)
            for name in self.WRITTEN_SECTIONS
            if not getattr(self, name).strip()
        ]
