from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from governance.choices import EvaluationDimension
from governance.models.revisions import ChangeControlledRevision

_PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class ThresholdPolicy(ChangeControlledRevision):
    """One revision of the evaluation thresholds of a use case, or of the organisation's default
    (``use_case`` empty) that use cases without their own fall back to. Gates record which revision they used.
    """

    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="threshold_revisions",
        null=True,
        blank=True,
        help_text=_("Empty: the organisation default."),
    )

    #: What ``content()`` reads, fetched for many revisions at once when the ledger is replayed over them.
    content_prefetch = ("rules",)

    class Meta:
        verbose_name = _("threshold policy")
        verbose_name_plural = _("threshold policies")
        ordering = ["use_case_id", "-revision"]  # by id: no join, so rows can be locked FOR UPDATE
        constraints = ChangeControlledRevision.scope_constraints("threshold")
        permissions = [("approve_thresholdpolicy", _("Can approve a threshold revision"))]

    def __str__(self) -> str:
        scope = self.use_case or _("organisation default")
        return f"Thresholds {scope} r{self.revision} ({self.get_state_display()})"

    def content(self) -> dict[str, Any]:
        return {
            rule.dimension: {
                "min_pass_rate": rule.min_pass_rate,
                "borderline_band": rule.borderline_band,
                "scope_note": rule.scope_note,
            }
            for rule in self.rules.all()
        }


class ThresholdRule(models.Model):
    """The bar for one evaluation dimension: at or above ``min_pass_rate`` passes; within
    ``borderline_band`` points below it goes to human review; lower fails. Append-only, like its revision."""

    policy = models.ForeignKey(ThresholdPolicy, on_delete=models.PROTECT, related_name="rules")
    dimension = models.CharField(_("dimension"), max_length=30, choices=EvaluationDimension.choices)
    min_pass_rate = models.DecimalField(_("minimum pass rate (%)"), max_digits=5, decimal_places=2, validators=_PERCENT)
    borderline_band = models.DecimalField(
        _("borderline band (points)"), max_digits=5, decimal_places=2, default=Decimal(0), validators=_PERCENT
    )
    scope_note = models.CharField(_("scope"), max_length=300, blank=True, help_text=_('e.g. "top 200 queries"'))

    class Meta:
        verbose_name = _("threshold rule")
        ordering = ["policy_id", "dimension"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "dimension"], name="threshold_rule_unique"),
            models.CheckConstraint(
                condition=models.Q(min_pass_rate__gte=0, min_pass_rate__lte=100),
                name="threshold_rate_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(borderline_band__gte=0, borderline_band__lte=models.F("min_pass_rate")),
                name="threshold_band_within_rate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()} >= {self.min_pass_rate}%"
