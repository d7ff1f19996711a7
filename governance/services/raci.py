"""RACI per use case: proposing a revision (risk officers) and asking who is Accountable or Responsible."""

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.authz import require
from accounts.choices import Role
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import LifecycleStage, RaciLetter, RevisionState
from governance.models import RaciAssignment, RaciMatrix, UseCase
from governance.services.revisions import (
    next_revision_number,
    notify_revision_awaits_approval,
    record_revision_content,
)

Grid = Mapping[tuple[str, str], str]


def raci_grid_errors(grid: Grid) -> dict[str, str]:
    """Per stage, what is wrong: exactly one Accountable and at least one Responsible."""
    errors: dict[str, str] = {}
    for key, letter in grid.items():
        stage, role = key
        if stage not in LifecycleStage.values or role not in Role.values or letter not in RaciLetter.values:
            errors["__all__"] = f"Unknown stage, function or letter: {stage!r}, {role!r}, {letter!r}."
    for stage in LifecycleStage:
        letters = {role: grid.get((stage.value, role)) for role in Role.values}
        accountable = [str(Role(role).label) for role, letter in letters.items() if letter == RaciLetter.ACCOUNTABLE]
        responsible = [role for role, letter in letters.items() if letter == RaciLetter.RESPONSIBLE]
        problems = []
        if len(accountable) != 1:
            found = f" (found {len(accountable)}: {', '.join(accountable)})" if accountable else " (found none)"
            problems.append(f"needs exactly one Accountable{found}")
        if not responsible:
            problems.append("needs at least one Responsible")
        if problems:
            errors[stage.value] = f"{stage.label} {' and '.join(problems)}."
    return errors


def raci_revision_propose(*, use_case: UseCase, actor: AbstractBaseUser, grid: Grid, rationale: str) -> RaciMatrix:
    """A new pending RACI revision; it takes effect when another person approves it."""
    cleaned = {key: letter for key, letter in grid.items() if letter}
    errors = raci_grid_errors(cleaned)
    if not rationale.strip():
        errors["rationale"] = "Say why the RACI changes."
    if errors:
        raise ValidationError(errors)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require(actor, "governance.add_racimatrix", attempted="raci_revision_propose", obj=locked)
        pending = RaciMatrix.objects.filter(use_case=locked, state=RevisionState.PENDING).first()
        if pending is not None:
            raise ActionDenied(
                f"Revision {pending.revision} is already pending approval; it must be approved or rejected first.",
                actor=actor,
                attempted="raci_revision_propose",
                obj=locked,
            )
        matrix = RaciMatrix.objects.create(
            use_case=locked,
            revision=next_revision_number(RaciMatrix, use_case=locked),
            proposed_by=actor,
            rationale=rationale.strip(),
        )
        RaciAssignment.objects.bulk_create(
            RaciAssignment(matrix=matrix, stage=stage, role=role, letter=letter)
            for (stage, role), letter in sorted(cleaned.items())
        )
        record_revision_content(matrix)
        notify_revision_awaits_approval(matrix)
        return matrix


def effective_raci(use_case: UseCase) -> RaciMatrix | None:
    return RaciMatrix.objects.filter(use_case=use_case, state=RevisionState.EFFECTIVE).first()


def raci_roles(use_case: UseCase, stage: LifecycleStage, letter: RaciLetter) -> list[Role]:
    """Who holds ``letter`` for ``stage`` in the use case's effective RACI (empty if none is effective)."""
    roles = RaciAssignment.objects.filter(
        matrix__use_case=use_case, matrix__state=RevisionState.EFFECTIVE, stage=stage, letter=letter
    ).values_list("role", flat=True)
    return [Role(role) for role in roles]


def accountable_role(use_case: UseCase, stage: LifecycleStage) -> Role | None:
    """The one function Accountable for ``stage``, which later stages ask to decide who must approve."""
    roles = raci_roles(use_case, stage, RaciLetter.ACCOUNTABLE)
    return roles[0] if roles else None
