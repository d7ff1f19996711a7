"""Validation suites freeze on first use; results are recorded whole or not at all; gates judge pass rates
against the thresholds in effect, in the database, with a constant number of queries."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from governance.choices import EvaluationDimension
from registry.choices import GateOutcome, ValidationCategory
from registry.models import ValidationResult, ValidationRun
from registry.services.gates import gate_evaluate, gate_human_review, judge
from registry.services.validation import (
    ResultInput,
    validation_case_add,
    validation_run_record,
    validation_suite_new_version,
)
from tests.registry.conftest import PASSWORD, ledger_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("passed", "total", "outcome"),
    [
        (95, 100, GateOutcome.PASS),  # exactly at the bar
        (94, 100, GateOutcome.BORDERLINE),
        (93, 100, GateOutcome.BORDERLINE),  # exactly at the bottom of the band
        (92, 100, GateOutcome.FAIL),
        (19, 20, GateOutcome.PASS),
        (0, 0, GateOutcome.FAIL),  # untested is not cleared
    ],
)
def test_a_pass_rate_is_judged_against_the_bar_and_its_band_without_rounding(passed, total, outcome):
    assert judge(passed, total, Decimal("95"), Decimal("2")) == outcome


def test_a_band_of_zero_means_no_borderline():
    assert judge(99, 100, Decimal("100"), Decimal("0")) == GateOutcome.FAIL


def test_a_gate_records_figures_suite_version_and_threshold_revision(world):
    model = world.model()
    decision = world.gate(model, rates={EvaluationDimension.FACTUALITY: (94, 100)})

    assert decision.outcome == GateOutcome.BORDERLINE
    assert decision.suite == world.suite
    assert decision.threshold_policy.state == "effective"
    factuality = decision.figures[EvaluationDimension.FACTUALITY]
    assert (factuality["passed"], factuality["total"], factuality["pass_rate"]) == (94, 100, "94.00")
    assert (factuality["min_pass_rate"], factuality["outcome"]) == ("95.00", "borderline")
    assert decision.figures[EvaluationDimension.REDACTION]["total"] == 20  # two redaction cases x 10


def test_the_worst_dimension_decides_the_gate(world):
    model = world.model()
    decision = world.gate(
        model, rates={EvaluationDimension.FACTUALITY: (94, 100), EvaluationDimension.SAFETY: (90, 100)}
    )
    assert decision.outcome == GateOutcome.FAIL


def test_gate_evaluation_takes_the_same_queries_for_ten_or_a_thousand_results(world, django_assert_max_num_queries):
    small = world.validate(world.model())
    large = world.validate(world.model(), rates={EvaluationDimension.TONE: (900, 1000)})
    with django_assert_max_num_queries(16) as few:
        gate_evaluate(validation_run=small, actor=world["mleng"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        gate_evaluate(validation_run=large, actor=world["mleng"])


def test_a_suite_freezes_when_a_run_uses_it_and_a_new_version_copies_its_cases(world):
    world.validate(world.model())
    world.suite.refresh_from_db()
    assert world.suite.frozen_at is not None
    with pytest.raises(ActionDenied, match="frozen"):
        validation_case_add(
            suite=world.suite,
            actor=world["mleng"],
            key="NEW-001",
            dimension=EvaluationDimension.SAFETY,
            category=ValidationCategory.ADVERSARIAL,
            prompt="Another jailbreak",
            expected_behaviour="refuse",
        )
    successor = validation_suite_new_version(suite=world.suite, actor=world["mleng"])
    assert successor.version == 2
    assert sorted(successor.cases.values_list("key", flat=True)) == sorted(
        world.suite.cases.values_list("key", flat=True)
    )
    assert validation_case_add(
        suite=successor,
        actor=world["mleng"],
        key="NEW-001",
        dimension=EvaluationDimension.SAFETY,
        category=ValidationCategory.ADVERSARIAL,
        prompt="Another jailbreak",
        expected_behaviour="refuse",
    ).pk


def test_a_run_records_every_result_and_the_ledger_holds_their_digest(world):
    run = world.validate(world.model())
    assert run.result_count == ValidationResult.objects.filter(run=run).count() == 80
    assert {"results": {"count": 80, "sha256": run.results_digest}} in [entry.payload for entry in ledger_of(run)]


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (ResultInput(case="NOPE-1", outcome="pass"), "has no case"),
        (ResultInput(case="SAFE-002", outcome="maybe"), "must be pass or fail"),
        (ResultInput(case="SAFE-002", outcome="pass", score="abc"), "not a number"),
        (ResultInput(case="SAFE-002", outcome="pass", output_excerpt="x" * 2001), "excerpt exceeds"),
        (ResultInput(case="PCI-001", outcome="pass"), "needs the username of its human reviewer"),
        (ResultInput(case="SAFE-002", outcome="pass", attempt=0), "positive whole number"),
    ],
)
def test_a_malformed_result_refuses_the_whole_run(world, result, message):
    from django.utils import timezone

    model = world.model()
    good = ResultInput(case="SAFE-002", outcome="pass", attempt=7)
    with pytest.raises(ValidationError) as refused:
        validation_run_record(
            model_version=model,
            suite=world.suite,
            actor=world["mleng"],
            results=[good, result],
            started_at=timezone.now(),
        )
    assert message in str(refused.value)
    assert not ValidationRun.objects.exists()
    world.suite.refresh_from_db()
    assert world.suite.frozen_at is None


def test_only_an_eligible_risk_officer_decides_a_borderline_gate_with_a_signature(world):
    model = world.model()
    decision = world.gate(model, rates={EvaluationDimension.FACTUALITY: (94, 100)})
    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        gate_human_review(
            decision=decision, reviewer=world["admin"], verdict="accepted", note="fine", password=PASSWORD
        )
    with pytest.raises(ValidationError):
        gate_human_review(decision=decision, reviewer=world["risk"], verdict="accepted", note=" ", password=PASSWORD)
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        gate_human_review(decision=decision, reviewer=world["risk"], verdict="accepted", note="ok", password="wrong")

    reviewed = gate_human_review(
        decision=decision, reviewer=world["risk"], verdict="rejected", note="Wrong refund periods.", password=PASSWORD
    )
    assert (reviewed.human_decision, reviewed.human_reviewer) == ("rejected", world["risk"])
    assert not reviewed.allows_promotion
    [(signature, valid)] = signatures_for(reviewed)
    assert valid
    assert signature.meaning == "Borderline gate rejected after human review"
    with pytest.raises(ActionDenied, match="only an undecided BORDERLINE"):
        gate_human_review(decision=reviewed, reviewer=world["risk2"], verdict="accepted", note="ok", password=PASSWORD)


def test_a_pass_or_fail_gate_has_no_human_review(world):
    decision = world.gate(world.model())
    with pytest.raises(ActionDenied, match="only an undecided BORDERLINE"):
        gate_human_review(decision=decision, reviewer=world["risk"], verdict="accepted", note="ok", password=PASSWORD)
