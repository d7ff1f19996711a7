import contextlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import GovernedModel
from governance.choices import EvaluationDimension
from lineage.models.synthetic import normalised_language, validate_language
from registry.choices import ExpectedBehaviour, GateOutcome, HumanReviewDecision, ResultOutcome, ValidationCategory


class ValidationSuite(GovernedModel):
    """One version of a use case's validation suite (``support-validation v3``).

    Cases may be added while no validation run has used the suite; from the first run on it is frozen
    (``frozen_at``), so that a gate decision always refers to a fixed set of cases. Changing it means a new
    version.
    """

    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="validation_suites"
    )
    slug = models.SlugField(_("suite"), max_length=80)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)
    frozen_at = models.DateTimeField(_("frozen at (UTC)"), null=True, blank=True)

    digest_exclude = ("frozen_at",)

    class Meta:
        verbose_name = _("validation suite")
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="validation_suite_unique"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="validation_suite_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.slug} v{self.version}"


class ValidationCase(GovernedModel):
    """One test: what is asked, how it is run, what behaviour is expected, and which constraints it proves."""

    suite = models.ForeignKey(ValidationSuite, verbose_name=_("suite"), on_delete=models.PROTECT, related_name="cases")
    key = models.CharField(_("case"), max_length=40, help_text=_('e.g. "PCI-001"'))
    dimension = models.CharField(_("dimension"), max_length=30, choices=EvaluationDimension.choices)
    category = models.CharField(_("category"), max_length=20, choices=ValidationCategory.choices)
    prompt = models.TextField(_("input"))
    expected_behaviour = models.CharField(_("expected behaviour"), max_length=30, choices=ExpectedBehaviour.choices)
    expected_detail = models.CharField(
        _("expected detail"), max_length=500, blank=True, help_text=_("e.g. the text an answer must contain")
    )
    constraints = models.ManyToManyField(
        "governance.BehaviorConstraint", verbose_name=_("behaviour constraints tested"), blank=True, related_name="+"
    )
    language = models.CharField(
        _("language"),
        max_length=35,
        blank=True,
        validators=[validate_language],
        help_text=_("The BCP 47 tag of the language the input is written in (e.g. en, de-CH); empty: not stated."),
    )

    _history_m2m_fields = ("constraints",)

    class Meta:
        verbose_name = _("validation case")
        ordering = ["suite_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "key"], name="validation_case_unique"),
            models.CheckConstraint(
                condition=models.Q(dimension__in=EvaluationDimension.values), name="validation_case_dimension_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.prompt[:60]}"

    def clean(self) -> None:
        super().clean()
        with contextlib.suppress(ValueError):  # the field's validator has said what to fix
            self.language = normalised_language(self.language) if self.language else ""


class ValidationRun(GovernedModel):
    """A model version run against one suite version. Its results are recorded once, with a digest over them."""

    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="validation_runs",
    )
    suite = models.ForeignKey(
        ValidationSuite, verbose_name=_("suite"), on_delete=models.PROTECT, related_name="validation_runs"
    )
    executed_by = models.CharField(_("executed by"), max_length=200)
    started_at = models.DateTimeField(_("started at (UTC)"))
    finished_at = models.DateTimeField(_("finished at (UTC)"))
    result_count = models.PositiveIntegerField(_("results"))
    results_digest = models.CharField(_("results digest (SHA-256)"), max_length=64)

    class Meta:
        verbose_name = _("validation run")
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_version} on {self.suite} ({self.finished_at:%Y-%m-%d})"


class ValidationResult(models.Model):
    """One case's outcome in one run (a case may be sampled several times: ``attempt``). Written once with its
    run (append-only table); the run's ledger entry carries the digest over all of them."""

    run = models.ForeignKey(ValidationRun, on_delete=models.PROTECT, related_name="results")
    case = models.ForeignKey(ValidationCase, on_delete=models.PROTECT, related_name="results")
    attempt = models.PositiveIntegerField(_("attempt"), default=1)
    outcome = models.CharField(_("outcome"), max_length=10, choices=ResultOutcome.choices)
    score = models.DecimalField(_("score"), max_digits=7, decimal_places=4, null=True, blank=True)
    output_excerpt = models.TextField(_("output excerpt (redacted)"), blank=True)
    human_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("human reviewer"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("validation result")
        ordering = ["run_id", "case_id", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["run", "case", "attempt"], name="validation_result_unique"),
            models.CheckConstraint(condition=models.Q(outcome__in=ResultOutcome.values), name="result_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.attempt}: {self.outcome}"


class GateDecision(GovernedModel):
    """The go/no-go of one validation run against the threshold revision in effect: per dimension the pass
    rate, the bar and the outcome, and overall the worst of them. A BORDERLINE decision counts as a go only
    once a human reviewer has accepted it with an electronic signature."""

    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="gate_decisions",
    )
    validation_run = models.ForeignKey(
        ValidationRun, verbose_name=_("validation run"), on_delete=models.PROTECT, related_name="gate_decisions"
    )
    suite = models.ForeignKey(
        ValidationSuite, verbose_name=_("suite version"), on_delete=models.PROTECT, related_name="+"
    )
    threshold_policy = models.ForeignKey(
        "governance.ThresholdPolicy", verbose_name=_("threshold revision"), on_delete=models.PROTECT, related_name="+"
    )
    figures = models.JSONField(_("figures per dimension"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=GateOutcome.choices)
    decided_at = models.DateTimeField(_("decided at (UTC)"), default=timezone.now)
    human_decision = models.CharField(_("human review"), max_length=10, choices=HumanReviewDecision.choices, blank=True)
    human_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("human reviewer"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    human_review_note = models.TextField(_("human review note"), blank=True)

    #: The human review is recorded as it is signed, so it cannot be part of what is signed.
    digest_exclude = ("human_decision", "human_reviewer", "human_review_note")

    class Meta:
        verbose_name = _("gate decision")
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["model_version", "-decided_at"], name="gate_model_version_idx")]

    def __str__(self) -> str:
        return f"Gate {self.model_version}: {self.get_outcome_display()}"

    @property
    def allows_promotion(self) -> bool:
        return self.outcome == GateOutcome.PASS or (
            self.outcome == GateOutcome.BORDERLINE and self.human_decision == HumanReviewDecision.ACCEPTED
        )
