"""``seed_demo``'s inference records: the support assistant's answers across its rollback, escalations, and one
answer from a version never promoted to prod."""

from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import LedgerEntry
from inference.choices import ResponseClassification
from inference.demo_organisation import CARD_DIGITS, ESCALATE_EVERY, PER_STRETCH, REVIEWED_ANSWER, WAITING
from inference.models import AnswerReview, InferenceBatch, InferenceRecord
from inference.proofs import record_is_proven
from inference.reviews import awaiting_review
from registry.choices import IncidentState
from registry.models import Incident

pytestmark = pytest.mark.django_db


def test_the_demo_answers_span_the_rollback_and_one_names_a_version_never_promoted(settings):
    settings.DEBUG = True  # a pilot: seed_demo refuses demo logins otherwise
    call_command("seed_demo", stdout=StringIO())

    records = InferenceRecord.objects.select_related("model_version", "named_version")
    assert records.count() == 3 * PER_STRETCH + 1
    before = records.get(response_id=f"chatcmpl-demo-{PER_STRETCH - 1:06d}")
    during = records.get(response_id=f"chatcmpl-demo-{PER_STRETCH:06d}")
    after = records.get(response_id=f"chatcmpl-demo-{2 * PER_STRETCH:06d}")
    assert [record.model_version.identifier for record in (before, during, after)] == [
        "support-assistant:1",
        "support-assistant:2",
        "support-assistant:1",
    ]
    escalated = records.filter(response_classification=ResponseClassification.ESCALATED)
    assert escalated.count() == 3 * PER_STRETCH // ESCALATE_EVERY + 1  # the stray answer is escalated too
    stray = records.get(version_mismatch=True)
    assert stray.named_version.identifier == "support-assistant:3"
    assert Incident.objects.filter(model_version=stray.named_version, state=IncidentState.DRAFT).exists()
    assert record_is_proven(stray)
    review = AnswerReview.objects.get(record_id=records.get(response_id=REVIEWED_ANSWER).pk)
    reviewed = records.get(pk=review.record_id)
    assert reviewed.model_version.identifier == "support-assistant:2"
    assert (review.decision, review.reason, review.reviewer.username) == ("overridden", CARD_DIGITS, "mleng")
    # The reviewer kept up: every escalation but the most recent few is decided, and only :2's were overridden.
    waiting = list(awaiting_review([reviewed.use_case_id]))
    assert len(waiting) == WAITING
    assert AnswerReview.objects.count() == escalated.count() - WAITING
    newest_decided = escalated.exclude(pk__in=[record.pk for record in waiting]).latest("started_at")
    assert newest_decided.started_at < min(record.started_at for record in waiting)
    overridden = AnswerReview.objects.filter(decision="overridden")
    assert overridden.count() > 1
    assert set(
        records.filter(pk__in=overridden.values("record_id")).values_list("model_version__number", flat=True)
    ) == {2}
    assert "Ledger OK" in _verify()

    batches, entries = InferenceBatch.objects.count(), LedgerEntry.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert (InferenceBatch.objects.count(), InferenceRecord.objects.count()) == (batches, 3 * PER_STRETCH + 1)
    assert (AnswerReview.objects.count(), awaiting_review([reviewed.use_case_id]).count()) == (
        escalated.count() - WAITING,
        WAITING,
    )
    assert LedgerEntry.objects.count() == entries


def _verify() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()
