"""Reviewing escalated answers: the use case's RACI says who (the functions Responsible for monitoring), only an
escalated answer is reviewed, an override says why, one decision per answer, and each is a ledger entry."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from inference.choices import AnswerDecision
from inference.models import AnswerReview
from inference.reviews import (
    REVIEW_OBJECT_TYPE,
    AnswerAlreadyReviewed,
    answer_review_decide,
    awaiting_review,
    reviewed_use_case_ids,
)
from inference.trace import trace
from tests.inference.reviewing import answers_in_prod

pytestmark = pytest.mark.django_db

REASON = "It promised a refund the policy does not allow; an agent corrected it."


@pytest.fixture
def escalated(world, intake, spans):
    return answers_in_prod(world, intake, spans, ["escalated"])[0]


def test_the_reviewer_responsible_for_monitoring_overrides_an_escalated_answer_with_a_reason(world, escalated):
    review = answer_review_decide(
        record=escalated, actor=world["mleng"], decision=AnswerDecision.OVERRIDDEN, reason=f"  {REASON} "
    )

    assert (review.record_id, review.use_case, review.reviewer, review.decision, review.reason) == (
        escalated.pk,
        escalated.use_case,
        world["mleng"],
        "overridden",
        REASON,
    )
    assert (review.trace_id, review.span_id, review.record_started_at) == (
        escalated.trace_id,
        escalated.span_id,
        escalated.started_at,
    )
    entry = LedgerEntry.objects.get(sequence=review.ledger_sequence)
    assert (entry.action, entry.object_type, entry.object_id, entry.actor_id) == (
        LedgerAction.CREATE,
        REVIEW_OBJECT_TYPE,
        str(escalated.pk),
        world["mleng"].pk,
    )
    assert entry.payload["answer_review"]["decision"] == "overridden"
    assert entry.payload["answer_review"]["reason"] == REASON
    assert entry.payload["answer_review"]["record"] == [escalated.pk, escalated.trace_id, escalated.span_id]
    assert trace(escalated).review == review
    assert trace(escalated).answer_reviewer == world["mleng"].get_full_name()


def test_an_approval_needs_no_reason(world, escalated):
    review = answer_review_decide(record=escalated, actor=world["mleng"], decision=AnswerDecision.APPROVED, reason="")

    assert (review.decision, review.reason) == ("approved", "")
    assert not awaiting_review([escalated.use_case_id]).exists()


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_an_override_without_a_reason_is_refused_and_nothing_is_recorded(world, escalated, reason):
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        answer_review_decide(record=escalated, actor=world["mleng"], decision="overridden", reason=reason)

    assert "reason" in refused.value.message_dict
    assert (AnswerReview.objects.count(), LedgerEntry.objects.count()) == (0, before)


@pytest.mark.parametrize("decision", ["", "maybe", "APPROVED"])
def test_a_decision_that_is_neither_approve_nor_override_is_refused(world, escalated, decision):
    with pytest.raises(ValidationError) as refused:
        answer_review_decide(record=escalated, actor=world["mleng"], decision=decision, reason=REASON)

    assert "decision" in refused.value.message_dict
    assert not AnswerReview.objects.exists()


def test_an_oversized_reason_is_refused(world, escalated):
    with pytest.raises(ValidationError) as refused:
        answer_review_decide(record=escalated, actor=world["mleng"], decision="overridden", reason="x" * 4001)

    assert "reason" in refused.value.message_dict
    assert not AnswerReview.objects.exists()


# The demo RACI: Risk Officer Accountable for monitoring, ML Engineer Responsible, Compliance Consulted, Product
# Owner and Auditor Informed. Only Responsible reviews; an administrator holds no role.
@pytest.mark.parametrize("username", ["risk", "compliance", "product", "auditor", "legal", "steward", "admin"])
def test_nobody_but_the_functions_responsible_for_monitoring_reviews_and_the_refusal_is_recorded(
    world, escalated, username
):
    with pytest.raises(ActionDenied) as refused:
        answer_review_decide(record=escalated, actor=world[username], decision="approved", reason="")

    assert "Responsible for monitoring" in str(refused.value)
    assert not AnswerReview.objects.exists()
    denial = LedgerEntry.objects.latest("sequence")
    assert (denial.action, denial.payload["attempted"], denial.actor_id) == (
        LedgerAction.DENIED,
        "answer_review_decide",
        world[username].pk,
    )


@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_an_answer_that_was_not_escalated_is_not_reviewed(world, intake, spans, outcome):
    record = answers_in_prod(world, intake, spans, [outcome])[0]

    with pytest.raises(ActionDenied) as refused:
        answer_review_decide(record=record, actor=world["mleng"], decision="overridden", reason=REASON)

    assert "not escalated" in str(refused.value)
    assert not AnswerReview.objects.exists()


def test_a_second_decision_on_the_same_answer_is_refused_naming_the_first(world, escalated, user_in_role):
    from accounts.choices import Role

    other = user_in_role(Role.ML_ENGINEER, username="mleng-two")
    answer_review_decide(record=escalated, actor=world["mleng"], decision="overridden", reason=REASON)
    before = LedgerEntry.objects.count()

    with pytest.raises(AnswerAlreadyReviewed) as beaten:
        answer_review_decide(record=escalated, actor=other, decision="approved", reason="")

    assert "already decided this answer (overridden by the reviewer)" in str(beaten.value)
    assert AnswerReview.objects.get().reviewer == world["mleng"]
    assert LedgerEntry.objects.count() == before


def test_the_database_holds_one_decision_per_answer_and_no_override_without_a_reason(world, escalated):
    answer_review_decide(record=escalated, actor=world["mleng"], decision="approved", reason="")
    fields = {
        "record_id": escalated.pk,
        "use_case_id": escalated.use_case_id,
        "record_started_at": escalated.started_at,
        "trace_id": escalated.trace_id,
        "span_id": escalated.span_id,
        "reviewer": world["mleng"],
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        AnswerReview.objects.create(**fields, decision="overridden", reason=REASON)
    with pytest.raises(IntegrityError), transaction.atomic():
        AnswerReview.objects.create(**{**fields, "record_id": escalated.pk + 1000}, decision="overridden", reason="")


def test_a_review_is_never_changed_or_removed(world, escalated):
    review = answer_review_decide(record=escalated, actor=world["mleng"], decision="approved", reason="")

    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AnswerReview.objects.filter(pk=review.pk).update(decision="overridden", reason=REASON)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AnswerReview.objects.filter(pk=review.pk).delete()


def test_the_queue_lists_escalated_answers_without_a_decision_oldest_first(world, intake, spans):
    records = answers_in_prod(world, intake, spans, ["escalated", "pass", "escalated", "fail", "escalated"])
    answer_review_decide(record=records[2], actor=world["mleng"], decision="approved", reason="")

    assert list(awaiting_review(reviewed_use_case_ids(world["mleng"]))) == [records[0], records[4]]
    assert reviewed_use_case_ids(world["risk"]) == []
    assert reviewed_use_case_ids(world["admin"]) == []
