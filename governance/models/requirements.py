from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models.base import GovernedModel
from governance.choices import ConstraintKind, RequirementsState, Severity


class RequirementsDocument(ConcurrentTransitionMixin, GovernedModel):
    """A version of a use case's requirements: business goals and the behaviour constraints a model must meet.

    Approved by two signatures: the function Accountable for the Requirements stage in the use case's RACI,
    and Compliance. Approving a version supersedes the one approved before it.
    """

    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="requirements",
    )
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    business_goals = models.TextField(_("business goals"))
    state = FSMField(
        _("state"),
        max_length=20,
        choices=RequirementsState.choices,
        default=RequirementsState.DRAFT,
        protected=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("drafted by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    digest_exclude = ("submitted_by",)

    class Meta:
        verbose_name = _("requirements document")
        ordering = ["use_case_id", "-version"]  # by id: no join, so rows can be locked FOR UPDATE
        constraints = [
            models.UniqueConstraint(fields=["use_case", "version"], name="requirements_version_unique"),
            models.UniqueConstraint(
                fields=["use_case"],
                condition=models.Q(state=RequirementsState.APPROVED),
                name="requirements_one_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.use_case} requirements v{self.version}"

    @transition(field=state, source=RequirementsState.DRAFT, target=RequirementsState.IN_REVIEW)
    def submit(self) -> None:
        """Frozen for review: constraints can no longer change."""

    @transition(field=state, source=RequirementsState.IN_REVIEW, target=RequirementsState.DRAFT)
    def return_to_draft(self) -> None:
        """Changes requested by a reviewer."""

    @transition(field=state, source=RequirementsState.IN_REVIEW, target=RequirementsState.APPROVED)
    def approve(self) -> None:
        """Both required signatures are in."""

    @transition(field=state, source=RequirementsState.APPROVED, target=RequirementsState.SUPERSEDED)
    def supersede(self) -> None:
        """A later version was approved."""

    def digest_related(self) -> dict[str, Any]:
        return {
            "constraints": [
                {
                    "applies_when": c.applies_when,
                    "statement": c.statement,
                    "kind": c.kind,
                    "severity": c.severity,
                    "policies": sorted(p.code for p in c.policies.all()),
                }
                for c in self.constraints.order_by("position", "pk")
            ]
        }


class BehaviorConstraint(GovernedModel):
    """A rule the model's outputs must follow, e.g. "redact full card numbers", mapped to policies."""

    document = models.ForeignKey(
        RequirementsDocument,
        verbose_name=_("requirements"),
        on_delete=models.PROTECT,
        related_name="constraints",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    applies_when = models.CharField(
        _("applies when"),
        max_length=300,
        blank=True,
        help_text=_('e.g. "the response contains account balances or payment schedules"'),
    )
    statement = models.TextField(_("statement"))
    kind = models.CharField(_("kind"), max_length=20, choices=ConstraintKind.choices)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices, default=Severity.HIGH)
    policies = models.ManyToManyField("governance.Policy", verbose_name=_("policies"), blank=True, related_name="+")

    _history_m2m_fields = ("policies",)

    class Meta:
        verbose_name = _("behaviour constraint")
        ordering = ["document_id", "position", "pk"]

    def __str__(self) -> str:
        return f"[{self.get_kind_display()}] {self.statement[:80]}"
