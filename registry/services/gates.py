"""Go/no-go gates: a validation run's pass rate per dimension against the threshold revision in effect.

At or above a dimension's minimum pass rate is PASS; within its borderline band below is BORDERLINE, which
needs a human reviewer's signed decision; lower is FAIL. The overall outcome is the worst dimension's. A
dimension the thresholds set but the run did not test fails: an untested bar is not a cleared one.
"""

from collections.abc import Sequence
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse

from accounts.authz import approval_permission_holders, holds_approval_permission, require
from accounts.choices import NotificationKind
from accounts.models import Delegation
from accounts.notifications import notify
from accounts.roles import roles_granting
from accounts.services.delegations import standing_in_for
from accounts.services.signatures import signature_sign
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import EvaluationDimension
from governance.models import ThresholdPolicy
from governance.services.thresholds import effective_thresholds
from registry.choices import GateOutcome, HumanReviewDecision, ResultOutcome
from registry.errors import GateBlocked
from registry.models import GateDecision, ValidationResult, ValidationRun
from registry.tasks import check_model_version_provenance

_SEVERITY = {GateOutcome.PASS: 0, GateOutcome.BORDERLINE: 1, GateOutcome.FAIL: 2}


def dimension_counts(run: ValidationRun) -> dict[str, tuple[int, int]]:
    """dimension -> (passed, total), counted by the database in one grouped query."""
    rows = (
        ValidationResult.objects.filter(run=run)
        .values_list("case__dimension")
        .annotate(total=Count("id"), passed=Count("id", filter=Q(outcome=ResultOutcome.PASS)))
        .order_by()
    )
    return {dimension: (passed, total) for dimension, total, passed in rows}


def judge(passed: int, total: int, min_pass_rate: Decimal, band: Decimal) -> GateOutcome:
    """Compared in whole numbers (passed x 100 against rate x total), so rounding never flips a result."""
    if total == 0:
        return GateOutcome.FAIL
    if passed * 100 >= min_pass_rate * total:
        return GateOutcome.PASS
    if band > 0 and passed * 100 >= (min_pass_rate - band) * total:
        return GateOutcome.BORDERLINE
    return GateOutcome.FAIL


def gate_figures(run: ValidationRun, policy: ThresholdPolicy) -> tuple[dict[str, dict], GateOutcome]:
    counts = dimension_counts(run)
    figures: dict[str, dict] = {}
    overall = GateOutcome.PASS
    for rule in policy.rules.all():
        passed, total = counts.get(rule.dimension, (0, 0))
        outcome = judge(passed, total, rule.min_pass_rate, rule.borderline_band)
        figures[rule.dimension] = {
            "label": str(EvaluationDimension(rule.dimension).label),
            "passed": passed,
            "total": total,
            "pass_rate": str((Decimal(passed * 100) / total).quantize(Decimal("0.01"))) if total else None,
            "min_pass_rate": str(rule.min_pass_rate),
            "borderline_band": str(rule.borderline_band),
            "outcome": outcome.value,
            "note": "" if total else "Not tested by this suite.",
        }
        if _SEVERITY[outcome] > _SEVERITY[overall]:
            overall = outcome
    for dimension, (passed, total) in counts.items():
        if dimension not in figures:
            figures[dimension] = {
                "label": str(EvaluationDimension(dimension).label),
                "passed": passed,
                "total": total,
                "pass_rate": str((Decimal(passed * 100) / total).quantize(Decimal("0.01"))),
                "min_pass_rate": None,
                "borderline_band": None,
                "outcome": None,
                "note": "No threshold is set for this dimension; reported, not gated.",
            }
    return figures, overall


def gate_evaluate(*, validation_run: ValidationRun, actor: AbstractBaseUser) -> GateDecision:
    """Decide the gate for a validation run against the use case's thresholds in effect now."""
    attempted = "gate_evaluate"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        run = ValidationRun.objects.select_related("model_version__use_case", "suite").get(pk=validation_run.pk)
        require(actor, "registry.add_gatedecision", attempted=attempted, obj=run.model_version)
        policy = effective_thresholds(run.model_version.use_case)
        if policy is None:
            raise GateBlocked(
                [f"No thresholds are in effect for {run.model_version.use_case}; a risk officer must set them."],
                actor=actor,
                attempted=attempted,
                obj=run.model_version,
            )
        figures, outcome = gate_figures(run, policy)
        decision = GateDecision(
            model_version=run.model_version,
            validation_run=run,
            suite=run.suite,
            threshold_policy=policy,
            figures=figures,
            outcome=outcome,
        )
        decision.save()
        if outcome == GateOutcome.BORDERLINE:
            _notify_gate_needs_decision(decision)
        # New figures may contradict what the run reported, or regress on the version before: checked once committed.
        transaction.on_commit(lambda: check_model_version_provenance.delay(run.model_version_id), robust=True)
        return decision


def _notify_gate_needs_decision(decision: GateDecision) -> None:
    """A borderline gate waits for a person: e-mail those who may decide it (once the decision commits)."""
    notify(
        kind=NotificationKind.GATE_DECISION,
        recipients=gate_human_reviewers(decision),
        key=f"gate-decision:{decision.pk}:borderline",
        subject=f"A gate needs your decision: {decision.model_version}",
        body=f"{decision} is borderline: a Risk Officer accepts or rejects it, with a signature.",
        path=reverse("admin:registry_gatedecision_change", args=[decision.pk]),
    )


HUMAN_REVIEW_MEANINGS = {
    HumanReviewDecision.ACCEPTED: "Borderline gate accepted after human review",
    HumanReviewDecision.REJECTED: "Borderline gate rejected after human review",
}


#: Held through a role (Risk Officer): deciding a borderline gate with a signature.
GATE_REVIEW_PERMISSION = "registry.gate_review_modelversion"


def gate_human_review_refusal(decision: GateDecision, reviewer: AbstractBaseUser) -> str | None:
    """Why ``reviewer`` may not decide the gate now (None: they may). ``gate_human_review`` refuses with it, and
    the review page asks it before offering the form."""
    if not holds_approval_permission(reviewer, GATE_REVIEW_PERMISSION):
        return "Only a Risk Officer may decide a borderline gate."
    if decision.outcome != GateOutcome.BORDERLINE or decision.human_decision:
        state = decision.get_human_decision_display() if decision.human_decision else decision.get_outcome_display()
        return f"This gate decision is {state}; only an undecided BORDERLINE gate goes to human review."
    version = decision.model_version
    if reviewer.pk in (version.registered_by_id, version.training_run.registered_by_id):
        return "Whoever registered the model version or its training run cannot review its gate."
    return None


def gate_review_on_behalf_of(
    decision: GateDecision, reviewer: AbstractBaseUser, *, delegations: Sequence[Delegation] | None = None
) -> AbstractBaseUser | None:
    """The away Risk Officer on whose behalf ``reviewer`` decides the gate: one they stand in for who could decide it
    themselves (not whoever registered the version or its run). None: ``reviewer`` decides in their own right."""
    delegation = standing_in_for(
        reviewer,
        roles_granting(GATE_REVIEW_PERMISSION),
        lambda person, _role: gate_human_review_refusal(decision, person) is None,
        delegations=delegations,
    )
    return delegation.delegator if delegation else None


def gate_human_reviewers(decision: GateDecision) -> list[AbstractBaseUser]:
    """The people who may decide the gate now, in one query."""
    if decision.outcome != GateOutcome.BORDERLINE or decision.human_decision:
        return []
    version = decision.model_version
    excluded = {version.registered_by_id, version.training_run.registered_by_id} - {None}
    return list(approval_permission_holders(GATE_REVIEW_PERMISSION).exclude(pk__in=excluded))


def gate_human_review(
    *,
    decision: GateDecision,
    reviewer: AbstractBaseUser,
    verdict: str,
    note: str,
    password: str,
    username: str | None = None,
) -> GateDecision:
    """A risk officer decides a BORDERLINE gate with an electronic signature (on behalf of the away Risk Officer
    they stand in for, when that person could decide it). Whoever registered the model version or its training run
    may not, themselves or through a delegate."""
    attempted = "gate_human_review"
    if verdict not in HumanReviewDecision.values:
        raise ValidationError({"verdict": "Accept or reject."})
    if not note.strip():
        raise ValidationError({"note": "Record what the review found."})
    with denials_recorded(), transaction.atomic(), acting_as(reviewer):
        locked = (
            GateDecision.objects.select_for_update(of=("self",))
            .select_related("model_version__training_run")
            .get(pk=decision.pk)
        )
        problem = gate_human_review_refusal(locked, reviewer)
        if problem:
            raise ActionDenied(problem, actor=reviewer, attempted=attempted, obj=locked)
        signature_sign(
            record=locked,
            signer=reviewer,
            password=password,
            username=username,
            meaning=HUMAN_REVIEW_MEANINGS[HumanReviewDecision(verdict)],
            note=note.strip(),
            on_behalf_of=gate_review_on_behalf_of(locked, reviewer),
        )
        locked.human_decision, locked.human_reviewer, locked.human_review_note = verdict, reviewer, note.strip()
        locked.save()
        return locked
