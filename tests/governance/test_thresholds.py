"""Evaluation thresholds: per use case or the organisation default, proposed and approved under change control."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import EvaluationDimension, RevisionState
from governance.models import ThresholdPolicy, ThresholdRule
from governance.services.revisions import revision_approve, revision_reject
from governance.services.thresholds import (
    PLAYBOOK_DEFAULTS,
    RuleInput,
    effective_thresholds,
    threshold_revision_propose,
)
from tests.governance.conftest import PASSWORD
from tests.governance.test_raci import signatures_on
from tests.governance.test_usecases import ledger_of, make_use_case

pytestmark = pytest.mark.django_db

PLAYBOOK_RULES = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}


def approved_thresholds(use_case, proposer, approver, rules=None, rationale="Playbook bars.") -> ThresholdPolicy:
    policy = threshold_revision_propose(
        use_case=use_case, actor=proposer, rules=rules or PLAYBOOK_RULES, rationale=rationale
    )
    return revision_approve(revision=policy, approver=approver, password=PASSWORD)


@pytest.fixture
def use_case(product_owner):
    return make_use_case(product_owner)


@pytest.fixture
def pending(use_case, risk) -> ThresholdPolicy:
    return threshold_revision_propose(use_case=use_case, actor=risk, rules=PLAYBOOK_RULES, rationale="Playbook bars.")


def test_a_risk_officer_proposes_thresholds_which_wait_for_approval(use_case, risk) -> None:
    policy = threshold_revision_propose(
        use_case=use_case,
        actor=risk,
        rules={
            EvaluationDimension.FACTUALITY: RuleInput("95", "2", " top 200 queries "),
            EvaluationDimension.REDACTION: RuleInput(Decimal(100)),
        },
        rationale="Playbook bars for billing.",
    )

    policy.refresh_from_db()
    assert (policy.state, policy.revision, policy.proposed_by) == (RevisionState.PENDING, 1, risk)
    factuality = policy.rules.get(dimension=EvaluationDimension.FACTUALITY)
    assert (factuality.min_pass_rate, factuality.borderline_band, factuality.scope_note) == (
        Decimal("95.00"),
        Decimal("2.00"),
        "top 200 queries",
    )
    assert effective_thresholds(use_case) is None
    [content_entry] = [e for e in ledger_of(policy) if e.action == LedgerAction.CREATE and "content" in e.payload]
    assert content_entry.actor == risk
    assert content_entry.payload["content"] == {
        "factuality": {"min_pass_rate": "95.00", "borderline_band": "2.00", "scope_note": "top 200 queries"},
        "redaction": {"min_pass_rate": "100.00", "borderline_band": "0.00", "scope_note": ""},
    }


def test_a_second_risk_officer_approves_and_the_thresholds_take_effect(use_case, second_risk, pending) -> None:
    approved = revision_approve(revision=pending, approver=second_risk, password=PASSWORD)

    approved.refresh_from_db()
    assert (approved.state, approved.decided_by) == (RevisionState.EFFECTIVE, second_risk)
    assert effective_thresholds(use_case) == approved
    [signature] = signatures_on(approved)
    assert signature.meaning == "Approved threshold policy revision 1 as Risk Officer"
    entries = ledger_of(approved)
    assert any(e.action == LedgerAction.SIGN and e.actor == second_risk for e in entries)
    transition = next(e for e in entries if e.action == LedgerAction.TRANSITION)
    assert (transition.payload["target"], transition.actor) == ("effective", second_risk)


def test_approving_new_thresholds_supersedes_the_effective_ones(use_case, risk, second_risk, compliance) -> None:
    first = approved_thresholds(use_case, risk, second_risk)
    stricter = {**PLAYBOOK_RULES, EvaluationDimension.TONE: RuleInput("95", "2", "sampled conversations")}

    second = approved_thresholds(use_case, second_risk, compliance, rules=stricter, rationale="Tone complaints.")

    first.refresh_from_db()
    assert (first.state, second.state, second.revision) == (RevisionState.SUPERSEDED, RevisionState.EFFECTIVE, 2)
    assert effective_thresholds(use_case).rules.get(dimension="tone").min_pass_rate == Decimal("95.00")
    superseded = [e for e in ledger_of(first) if e.action == LedgerAction.TRANSITION][-1]
    assert superseded.payload["target"] == "superseded"


def test_the_proposer_cannot_approve_their_own_thresholds(risk, pending) -> None:
    with pytest.raises(ActionDenied, match="You proposed this revision"):
        revision_approve(revision=pending, approver=risk, password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING
    denial = ledger_of(pending)[-1]
    assert (denial.action, denial.payload["attempted"]) == (LedgerAction.DENIED, "approve threshold policy")


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.PRODUCT_OWNER, Role.AUDITOR])
def test_other_roles_cannot_approve_thresholds(user_in_role, pending, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied, match="Only a Risk Officer or a Compliance reviewer"):
        revision_approve(revision=pending, approver=someone, password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


def test_an_administrator_without_a_role_cannot_approve_thresholds(admin_user, pending) -> None:
    admin_user.set_password(PASSWORD)
    admin_user.save()

    with pytest.raises(ActionDenied):
        revision_approve(revision=pending, approver=admin_user, password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


def test_a_wrong_password_changes_nothing(use_case, second_risk, pending) -> None:
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        revision_approve(revision=pending, approver=second_risk, password="wrong")

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING
    assert effective_thresholds(use_case) is None
    assert ledger_of(pending)[-1].action == LedgerAction.DENIED


@pytest.mark.parametrize("role", [Role.COMPLIANCE_REVIEWER, Role.ML_ENGINEER, Role.PRODUCT_OWNER])
def test_only_a_risk_officer_proposes_thresholds(user_in_role, use_case, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        threshold_revision_propose(use_case=use_case, actor=someone, rules=PLAYBOOK_RULES, rationale="Mine.")

    assert not ThresholdPolicy.objects.exists()
    denial = ledger_of(use_case)[-1]
    assert (denial.action, denial.payload["attempted"]) == (LedgerAction.DENIED, "threshold_revision_propose")


def test_a_second_proposal_while_one_is_pending_is_refused(use_case, second_risk, pending) -> None:
    with pytest.raises(ActionDenied, match="Revision 1 is already pending approval"):
        threshold_revision_propose(use_case=use_case, actor=second_risk, rules=PLAYBOOK_RULES, rationale="Again.")

    assert list(ThresholdPolicy.objects.all()) == [pending]
    assert ledger_of(use_case)[-1].action == LedgerAction.DENIED


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        (RuleInput("101"), "safety", "Safety minimum pass rate must be between 0 and 100."),
        (RuleInput("-1"), "safety", "Safety minimum pass rate must be between 0 and 100."),
        (RuleInput("95", "100.5"), "safety_band", "Safety borderline band must be between 0 and 100."),
        (RuleInput("95", "-0.5"), "safety_band", "Safety borderline band must be between 0 and 100."),
        (RuleInput("90", "91"), "safety_band", "Safety: the borderline band cannot exceed the pass rate."),
        (RuleInput("ninety"), "safety", "Safety minimum pass rate: 'ninety' is not a number."),
        (RuleInput("95", "2%"), "safety_band", "Safety borderline band: '2%' is not a number."),
        (RuleInput(""), "safety", "Safety minimum pass rate: '' is not a number."),
        (RuleInput("NaN"), "safety", "Safety minimum pass rate must be between 0 and 100."),
        (RuleInput("Infinity"), "safety", "Safety minimum pass rate must be between 0 and 100."),
        (RuleInput("95", "2", "s" * 301), "safety_scope", "Safety: the scope note is longer than 300 characters."),
    ],
)
def test_malformed_thresholds_are_refused_and_nothing_is_saved(use_case, risk, rule, key, message) -> None:
    rules = {**PLAYBOOK_RULES, EvaluationDimension.SAFETY: rule}

    with pytest.raises(ValidationError) as raised:
        threshold_revision_propose(use_case=use_case, actor=risk, rules=rules, rationale="Typo.")

    assert raised.value.message_dict == {key: [message]}
    assert not ThresholdPolicy.objects.exists()
    assert not ThresholdRule.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.thresholdpolicy").exists()


def test_an_unknown_dimension_is_refused(use_case, risk) -> None:
    with pytest.raises(ValidationError, match="Unknown evaluation dimension 'vibes'"):
        threshold_revision_propose(use_case=use_case, actor=risk, rules={"vibes": RuleInput("90")}, rationale="?")

    assert not ThresholdPolicy.objects.exists()


def test_at_least_one_threshold_and_a_rationale_are_needed(use_case, risk) -> None:
    with pytest.raises(ValidationError, match="Set at least one threshold"):
        threshold_revision_propose(use_case=use_case, actor=risk, rules={}, rationale="Nothing.")
    with pytest.raises(ValidationError) as raised:
        threshold_revision_propose(use_case=use_case, actor=risk, rules=PLAYBOOK_RULES, rationale=" ")

    assert "rationale" in raised.value.message_dict
    assert not ThresholdPolicy.objects.exists()


def test_the_band_may_equal_the_rate_and_the_bounds_are_inclusive(use_case, risk) -> None:
    policy = threshold_revision_propose(
        use_case=use_case,
        actor=risk,
        rules={EvaluationDimension.REDACTION: RuleInput("100", "0"), EvaluationDimension.TONE: RuleInput("0", "0")},
        rationale="Edges.",
    )

    assert policy.rules.count() == 2


def test_the_database_refuses_a_band_above_the_rate_even_without_the_service(pending) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ThresholdRule.objects.create(
            policy=pending, dimension="custom", min_pass_rate=Decimal(50), borderline_band=Decimal(60)
        )


def test_rejecting_thresholds_needs_a_note_and_keeps_it(second_risk, pending) -> None:
    with pytest.raises(ValidationError):
        revision_reject(revision=pending, approver=second_risk, note="")

    rejected = revision_reject(revision=pending, approver=second_risk, note="Tone bar too low.")

    rejected.refresh_from_db()
    assert (rejected.state, rejected.decision_note) == (RevisionState.REJECTED, "Tone bar too low.")
    assert [e for e in ledger_of(rejected) if e.action == LedgerAction.TRANSITION][-1].payload["target"] == "rejected"


def test_the_organisation_default_applies_to_a_use_case_without_its_own(use_case, risk, second_risk) -> None:
    default = approved_thresholds(None, risk, second_risk)

    assert default.use_case is None
    assert effective_thresholds(use_case) == default
    assert effective_thresholds(None) == default
    [content_entry] = [e for e in ledger_of(default) if "content" in e.payload]
    assert set(content_entry.payload["content"]) == set(EvaluationDimension.values)


def test_a_pending_organisation_default_applies_to_nobody(use_case, risk) -> None:
    threshold_revision_propose(use_case=None, actor=risk, rules=PLAYBOOK_RULES, rationale="Default.")

    assert effective_thresholds(use_case) is None
    assert effective_thresholds(None) is None


def test_a_use_cases_own_thresholds_win_over_the_default(product_owner, use_case, risk, second_risk) -> None:
    default = approved_thresholds(None, risk, second_risk)
    own = approved_thresholds(
        use_case, second_risk, risk, rules={EvaluationDimension.REDACTION: RuleInput("100")}, rationale="Own."
    )
    other = make_use_case(product_owner, slug="collections-assistant", name="Collections assistant")

    assert effective_thresholds(use_case) == own
    assert effective_thresholds(other) == default
    default.refresh_from_db()
    assert default.state == RevisionState.EFFECTIVE


def test_approving_a_new_default_supersedes_only_the_old_default(use_case, risk, second_risk) -> None:
    own = approved_thresholds(use_case, risk, second_risk)
    first_default = approved_thresholds(None, risk, second_risk)

    second_default = approved_thresholds(None, second_risk, risk, rationale="Tightened.")

    own.refresh_from_db()
    first_default.refresh_from_db()
    assert (own.state, first_default.state) == (RevisionState.EFFECTIVE, RevisionState.SUPERSEDED)
    assert (second_default.revision, effective_thresholds(None)) == (2, second_default)


def test_a_second_pending_default_is_refused(risk, second_risk) -> None:
    threshold_revision_propose(use_case=None, actor=risk, rules=PLAYBOOK_RULES, rationale="Default.")

    with pytest.raises(ActionDenied, match="already pending"):
        threshold_revision_propose(use_case=None, actor=second_risk, rules=PLAYBOOK_RULES, rationale="Mine.")

    assert ThresholdPolicy.objects.count() == 1
    denial = LedgerEntry.objects.order_by("-sequence").first()
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, second_risk)
