"""Two reviewers deciding the same escalated answer at the same moment, on PostgreSQL: one decision is recorded,
the other reviewer is told who decided first, and the ledger holds one entry for it."""

import pytest

from accounts.choices import Role
from audit.models import LedgerEntry
from inference.models import AnswerReview
from inference.reviews import REVIEW_OBJECT_TYPE, AnswerAlreadyReviewed, answer_review_decide
from tests import services
from tests.concurrency import run_at_once
from tests.inference.reviewing import answers_in_prod

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_two_reviewers_deciding_one_answer_at_once_record_one_decision(world, intake, spans, user_in_role):
    record = answers_in_prod(world, intake, spans, ["escalated"])[0]
    other = user_in_role(Role.ML_ENGINEER, username="mleng-two")
    decisions = [(world["mleng"], "overridden", "It quoted a card number."), (other, "approved", "")]

    outcomes = run_at_once(
        *(
            lambda actor=actor, decision=decision, reason=reason: answer_review_decide(
                record=record, actor=actor, decision=decision, reason=reason
            )
            for actor, decision, reason in decisions
        ),
        timeout=90,
    )

    beaten = [outcome for outcome in outcomes if outcome.refused(AnswerAlreadyReviewed)]
    assert len(beaten) == 1
    review = AnswerReview.objects.get()
    assert "already decided this answer" in str(beaten[0].error)
    assert (review.reviewer_id, review.decision) in {(world["mleng"].pk, "overridden"), (other.pk, "approved")}
    assert LedgerEntry.objects.filter(object_type=REVIEW_OBJECT_TYPE).count() == 1
