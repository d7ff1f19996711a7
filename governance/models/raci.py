from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from governance.choices import LifecycleStage, RaciLetter, RevisionState
from governance.models.revisions import ChangeControlledRevision


class RaciMatrix(ChangeControlledRevision):
    """One revision of a use case's RACI: who is Responsible, Accountable, Consulted, Informed per stage.

    Approval services ask the effective revision who must approve (the Accountable function of a stage).
    """

    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="raci_revisions",
    )

    #: What ``content()`` reads, fetched for many revisions at once when the ledger is replayed over them.
    content_prefetch = ("assignments",)

    class Meta:
        verbose_name = _("RACI matrix")
        verbose_name_plural = _("RACI matrices")
        ordering = ["use_case_id", "-revision"]  # by id: no join, so rows can be locked FOR UPDATE
        constraints = [
            models.UniqueConstraint(fields=["use_case", "revision"], name="raci_revision_unique"),
            models.UniqueConstraint(
                fields=["use_case"],
                condition=models.Q(state=RevisionState.EFFECTIVE),
                name="raci_one_effective",
            ),
            models.UniqueConstraint(
                fields=["use_case"], condition=models.Q(state=RevisionState.PENDING), name="raci_one_pending"
            ),
        ]
        permissions = [("approve_racimatrix", _("Can approve a RACI revision"))]

    def __str__(self) -> str:
        return f"RACI {self.use_case} r{self.revision} ({self.get_state_display()})"

    def grid(self) -> dict[tuple[str, str], str]:
        """(stage, role) -> letter."""
        return {(a.stage, a.role): a.letter for a in self.assignments.all()}

    def content(self) -> dict[str, Any]:
        return {
            stage: {role: letter for (row_stage, role), letter in sorted(self.grid().items()) if row_stage == stage}
            for stage in LifecycleStage.values
        }


class RaciAssignment(models.Model):
    """One cell of a RACI revision. Written once with its revision and never changed (append-only table)."""

    matrix = models.ForeignKey(RaciMatrix, on_delete=models.PROTECT, related_name="assignments")
    stage = models.CharField(_("stage"), max_length=20, choices=LifecycleStage.choices)
    role = models.CharField(_("function"), max_length=40, choices=Role.choices)
    letter = models.CharField(_("RACI"), max_length=1, choices=RaciLetter.choices)

    class Meta:
        verbose_name = _("RACI assignment")
        ordering = ["matrix_id", "stage", "role"]
        constraints = [
            models.UniqueConstraint(fields=["matrix", "stage", "role"], name="raci_cell_unique"),
            # Exactly one Accountable per stage: "at most one" here, "at least one" in the service.
            models.UniqueConstraint(
                fields=["matrix", "stage"],
                condition=models.Q(letter=RaciLetter.ACCOUNTABLE),
                name="raci_one_accountable",
            ),
            models.CheckConstraint(condition=models.Q(letter__in=RaciLetter.values), name="raci_letter_valid"),
            models.CheckConstraint(condition=models.Q(stage__in=LifecycleStage.values), name="raci_stage_valid"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="raci_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} / {self.role}: {self.letter}"
