"""Human in the loop: an answer the serving side escalated waits for the use case's reviewers, the functions its
RACI makes Responsible for monitoring. A reviewer approves it as given or overrides it with a reason; the decision
and the reviewer go onto the record's trace, into the monitoring summaries' override rate, and into the ledger.

Who may review is asked of the effective RACI at the moment of deciding, not of a fixed role: a Risk Officer who
changes the RACI changes who reviews, with no deployment. Two reviewers deciding the same answer at once: the
record is locked, so the second waits, then is told who decided first (``AnswerAlreadyReviewed``); the unique
constraint on the review holds even where row locks do not (SQLite).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from accounts.authz import roles_of
from accounts.choices import HOLDING_STATES, Role
from accounts.models import RoleGrant
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import LifecycleStage, RaciLetter, RevisionState
from governance.models import RaciAssignment, UseCase
from governance.services.raci import raci_roles
from inference.choices import AnswerDecision, ResponseClassification
from inference.models import AnswerReview, InferenceRecord

#: The longest reason kept; a reviewer's note, not an essay.
MAX_REASON = 4000
#: How the ledger names a review: by the record's id, so the record's trace finds its review's entry.
REVIEW_OBJECT_TYPE = "inference.answerreview"


class AnswerAlreadyReviewed(Exception):
    """Another reviewer decided the answer first (an HTTP 409 on a page): nothing of this attempt was saved."""

    def __init__(self, review: AnswerReview) -> None:
        who = review.reviewer.get_full_name() or review.reviewer.get_username()
        super().__init__(
            f"{who} already decided this answer ({review.get_decision_display().lower()}) at "
            f"{review.decided_at:%Y-%m-%d %H:%M:%S} UTC; your decision was not recorded."
        )
        self.review = review


def reviewer_roles(use_case: UseCase) -> list[Role]:
    """The functions Responsible for monitoring in the use case's effective RACI: its answer reviewers."""
    return raci_roles(use_case, LifecycleStage.MONITORING, RaciLetter.RESPONSIBLE)


def reviewed_use_case_ids(user: AbstractBaseUser) -> list[int]:
    """The use cases whose escalated answers ``user`` reviews, by a role they hold through an approved grant (as
    ``roles_of`` counts roles), in one query whatever the number of use cases: the landing page asks it each time."""
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return []
    held = RoleGrant.objects.filter(user=user, state__in=HOLDING_STATES, user__groups__name=F("role")).values("role")
    return list(
        RaciAssignment.objects.filter(
            matrix__state=RevisionState.EFFECTIVE,
            stage=LifecycleStage.MONITORING,
            letter=RaciLetter.RESPONSIBLE,
            role__in=held,
        )
        .values_list("matrix__use_case_id", flat=True)
        .distinct()
    )


def may_review(user: AbstractBaseUser, use_case: UseCase) -> bool:
    return bool(roles_of(user) & {str(role) for role in reviewer_roles(use_case)})


def answer_review_refusal(record: InferenceRecord, reviewer: AbstractBaseUser) -> str | None:
    """Why ``reviewer`` may not decide ``record`` (None: they may). The service refuses with it; the review page
    asks it before offering the form."""
    if not may_review(reviewer, record.use_case):
        roles = ", ".join(str(role) for role in reviewer_roles(record.use_case)) or "nobody yet"
        return (
            f"Only the functions Responsible for monitoring in the RACI of {record.use_case} review its escalated "
            f"answers ({roles})."
        )
    if record.response_classification != ResponseClassification.ESCALATED:
        shown = record.get_response_classification_display() or "not classified"
        return f"This answer was not escalated to a human ({shown}); only escalated answers are reviewed."
    return None


def awaiting_review(use_case_ids: Iterable[int]) -> QuerySet[InferenceRecord]:
    """Escalated answers of the use cases that no reviewer has decided, oldest first (on the partial index)."""
    decided = AnswerReview.objects.filter(record_id=OuterRef("pk"))
    return (
        InferenceRecord.objects.filter(
            use_case_id__in=list(use_case_ids), response_classification=ResponseClassification.ESCALATED
        )
        .exclude(Exists(decided))
        .order_by("started_at", "id")
    )


@dataclass(frozen=True)
class PeriodReviews:
    reviewed: int
    overridden: int


def period_reviews(records: QuerySet[InferenceRecord]) -> PeriodReviews:
    """How many of ``records`` (one deployment's period) a reviewer decided, and overrode: one query."""
    figures = AnswerReview.objects.filter(record_id__in=records.values("pk")).aggregate(
        reviewed=Count("pk"), overridden=Count("pk", filter=Q(decision=AnswerDecision.OVERRIDDEN))
    )
    return PeriodReviews(reviewed=figures["reviewed"], overridden=figures["overridden"])


def review_of(record: InferenceRecord) -> AnswerReview | None:
    return AnswerReview.objects.select_related("reviewer").filter(record_id=record.pk).first()


def answer_review_decide(
    *, record: InferenceRecord, actor: AbstractBaseUser, decision: str, reason: str
) -> AnswerReview:
    """Record ``actor``'s decision on an escalated answer, with its ledger entry, in one transaction. An override
    needs a reason; an approval may carry one."""
    attempted = "answer_review_decide"
    reason = (reason or "").strip()
    if decision not in AnswerDecision.values:
        raise ValidationError({"decision": "Approve the answer or override it."})
    if decision == AnswerDecision.OVERRIDDEN and not reason:
        raise ValidationError({"reason": "Say why the answer is overridden: what was wrong, what the customer got."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Keep the reason under {MAX_REASON} characters (it has {len(reason)})."})
    try:
        with denials_recorded(), transaction.atomic(), acting_as(actor):
            # The record's row lock makes the second of two reviewers wait for the first, then see its review.
            locked = (
                InferenceRecord.objects.select_for_update(of=("self",))
                .select_related("use_case")
                .get(pk=record.pk, use_case_id=record.use_case_id, started_at=record.started_at)
            )
            problem = answer_review_refusal(locked, actor)
            if problem:
                raise ActionDenied(problem, actor=actor, attempted=attempted, obj=locked)
            earlier = review_of(locked)
            if earlier is not None:
                raise AnswerAlreadyReviewed(earlier)
            entry = ledger.append(
                action=LedgerAction.CREATE,
                object_type=REVIEW_OBJECT_TYPE,
                object_id=str(locked.pk),
                object_label=f"Review of answer {locked.response_id or locked}"[:300],
                payload={
                    "answer_review": {
                        "use_case": locked.use_case.slug,
                        "record": [locked.pk, locked.trace_id, locked.span_id],
                        "response_id": locked.response_id,
                        "model_version_id": locked.model_version_id,
                        "decision": decision,
                        "reason": reason,
                    }
                },
            )
            return AnswerReview.objects.create(
                record_id=locked.pk,
                use_case_id=locked.use_case_id,
                record_started_at=locked.started_at,
                trace_id=locked.trace_id,
                span_id=locked.span_id,
                reviewer=actor,
                decision=decision,
                reason=reason,
                decided_at=entry.recorded_at,
                ledger_sequence=entry.sequence,
            )
    except IntegrityError:  # where no row lock serialised the two (SQLite): the constraint did, nothing was kept
        earlier = review_of(record)
        if earlier is None:
            raise
        raise AnswerAlreadyReviewed(earlier) from None
