"""The inference demo: tens of thousands of answers of the support assistant in production, recorded through the
intake's service in batches of 1,000 as the serving gateway would send them.

The deployment history the registry's demo wrote (``:1`` deployed, ``:2`` deployed, ``:2`` rolled back to ``:1``)
happened within the seeding run, so the answers are spread over those same moments: the ones that started while
``:2`` was live land on it, and the ones before and after land on ``:1``. Some were escalated to a human, ``:2``
failed more runtime checks (it echoed card fragments), and one answer names ``:3``, which was never promoted to prod:
the intake flags it and raises a draft incident. A use case with inference batches is left as it is.

One answer in a hundred was escalated to a human. The demo ML Engineer (Responsible for monitoring in the RACI)
has decided all but the most recent few, as a team that keeps up with its queue would: approved, or overridden with
the reason, a third of ``:2``'s among them (one, ``REVIEWED_ANSWER``, for echoing a card's last digits). The rest
wait in the reviewers' queue; the trace pages and the monitoring rollup show both.
"""

import datetime
import hashlib

from django.contrib.auth import get_user_model
from django.db.models import Q

from accounts.services.tokens import pipeline_token_create
from governance.models import UseCase
from inference.choices import AnswerDecision, ResponseClassification
from inference.models import AnswerReview, InferenceBatch
from inference.otlp import SpanFacts
from inference.reviews import answer_review_decide, awaiting_review
from inference.services import ResolvedSpan, inference_spans_record
from registry.choices import DeploymentEventKind, Environment
from registry.models import DeploymentEvent, ModelVersion

#: Answers in each of the three stretches of the deployment history.
PER_STRETCH = 8_000
BATCH = 1_000
#: One answer in ``ESCALATE_EVERY`` is escalated to a human.
ESCALATE_EVERY = 100
#: The most recent escalations, left waiting in the reviewers' queue; the older ones are decided.
WAITING = 12
#: An escalated answer of ``:2`` (the second stretch) that the demo's reviewer overrode.
REVIEWED_ANSWER = f"chatcmpl-demo-{PER_STRETCH + ESCALATE_EVERY:06d}"
CARD_DIGITS = "The answer repeated the last digits of the customer's card; a human agent answered instead."
EARLY_REFUND = "The answer promised a refund before the dispute was checked; an agent took the conversation over."


def _facts(number: int, started_at: datetime.datetime, *, version: str, failing: bool) -> SpanFacts:
    digest = hashlib.sha256(f"demo-span-{number}".encode()).hexdigest()
    if number % ESCALATE_EVERY == 0:
        classification = ResponseClassification.ESCALATED
    elif failing and number % 40 == 1:
        classification = ResponseClassification.FAIL
    else:
        classification = ResponseClassification.PASS
    return SpanFacts(
        trace_id=digest[:32],
        span_id=digest[32:48],
        use_case="support-assistant",
        environment=Environment.PROD,
        model_version=version,
        operation="chat",
        started_at=started_at,
        ended_at=started_at + datetime.timedelta(milliseconds=900),
        request_model="support-assistant",
        response_model="support-assistant",
        response_id=f"chatcmpl-demo-{number:06d}",
        conversation_id=f"conv-demo-{number // 4:05d}",
        input_tokens=120 + number % 50,
        output_tokens=60 + number % 80,
        finish_reasons=["content_filter"] if number % 50 == 7 else ["stop"],
        prompt_category="billing_dispute" if number % 3 else "refund_status",
        policy_checks=["pci_redaction", "disclaimer"],
        response_classification=classification,
        end_user=f"customer-{number % 2_500}",
        prompt=f"Why was invoice {8_000 + number % 900} charged twice?",
        answer=f"I am sorry about the double charge on invoice {8_000 + number % 900}; a refund is on its way.",
    )


def seed(password: str) -> None:
    use_case = UseCase.objects.filter(slug="support-assistant").first()
    if use_case is None:
        return
    if not InferenceBatch.objects.filter(use_case=use_case).exists():
        _record_answers(use_case)
    _review_answers(use_case)


def _review_answers(use_case: UseCase) -> None:
    """The demo ML Engineer's decisions on every escalated answer but the ``WAITING`` most recent, through the
    reviewers' own service (each with its ledger entry); nothing if any answer is reviewed."""
    if AnswerReview.objects.filter(use_case=use_case).exists():
        return
    reviewer = get_user_model().objects.filter(username="mleng").first()
    if reviewer is None:
        return
    escalated = list(awaiting_review([use_case.pk]).select_related("model_version"))
    for number, record in enumerate(escalated[:-WAITING]):
        if record.response_id == REVIEWED_ANSWER:
            decision, reason = AnswerDecision.OVERRIDDEN, CARD_DIGITS
        elif record.model_version is not None and record.model_version.number == 2 and number % 3 == 0:
            decision, reason = AnswerDecision.OVERRIDDEN, EARLY_REFUND
        else:
            decision, reason = AnswerDecision.APPROVED, ""
        answer_review_decide(record=record, actor=reviewer, decision=decision, reason=reason)


def _record_answers(use_case: UseCase) -> None:
    events = list(
        DeploymentEvent.objects.filter(
            Q(kind=DeploymentEventKind.DEPLOY) | Q(kind=DeploymentEventKind.ROLLBACK),
            deployment__use_case=use_case,
            deployment__environment=Environment.PROD,
        )
        .select_related("model_version")
        .order_by("happened_at", "pk")
    )
    if len(events) < 3:
        return
    issued = pipeline_token_create(
        service_account_name="support-gateway",
        name="serving gateway (demo)",
        use_cases=UseCase.objects.filter(pk=use_case.pk),
        scopes=["inference:write"],
        actor_name="system:demo",
    )
    ends = [event.happened_at for event in events[1:3]] + [datetime.datetime.now(datetime.UTC)]
    facts: list[SpanFacts] = []
    for stretch, (event, end) in enumerate(zip(events[:3], ends, strict=True)):
        stretch_us = (end - event.happened_at) // datetime.timedelta(microseconds=1)
        for index in range(PER_STRETCH):
            number = stretch * PER_STRETCH + index
            # Whole microseconds, rounded down: every answer strictly between its stretch's two events.
            offset = datetime.timedelta(microseconds=stretch_us * (index + 1) // (PER_STRETCH + 1))
            started_at = event.happened_at + offset
            facts.append(_facts(number, started_at, version=event.model_version.identifier, failing=stretch == 1))
    never_promoted = ModelVersion.objects.filter(use_case=use_case, number=3).first()
    if never_promoted is not None:
        facts.append(
            _facts(
                len(facts),
                ends[-1] - datetime.timedelta(milliseconds=1),
                version=never_promoted.identifier,
                failing=False,
            )
        )
    versions = {version.identifier: version for version in ModelVersion.objects.filter(use_case=use_case)}
    for start in range(0, len(facts), BATCH):
        spans = [
            ResolvedSpan(facts=fact, use_case=use_case, named_version=versions[fact.model_version])
            for fact in facts[start : start + BATCH]
        ]
        inference_spans_record(actor=issued.token.service_account, token=issued.token, spans=spans)
