"""The reviewers' pages: the queue on the landing page and its own page, the review page with approve / override and
a reason, the decision on the trace page; wrong role, wrong state, missing and oversized reasons, a decision
already taken; and pages whose query count does not grow with the answers listed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inference.models import AnswerReview
from inference.reviews import answer_review_decide
from tests.inference.reviewing import answers_in_prod
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:evidence_escalated_answers")
REASON = "It promised a refund the policy does not allow; an agent corrected it."


def review_url(record) -> str:
    return reverse("admin:evidence_answer_review", args=[record.pk])


def signed_in(client, world, username: str):
    login_verified(client, world[username])
    return client


@pytest.fixture
def answers(world, intake, spans):
    return answers_in_prod(world, intake, spans, ["escalated", "pass", "escalated"])


def test_the_reviewers_landing_page_lists_escalated_answers_oldest_first_with_how_long_they_wait(
    client, world, answers
):
    page = signed_in(client, world, "mleng").get(reverse("admin:index")).content.decode()

    assert "Escalated answers waiting for review" in page
    first, second = page.index(review_url(answers[0])), page.index(review_url(answers[2]))
    assert first < second
    assert review_url(answers[1]) not in page
    assert "arrived" in page


def test_a_role_the_raci_does_not_make_responsible_sees_nothing_waiting(client, world, answers):
    page = signed_in(client, world, "risk").get(reverse("admin:index")).content.decode()

    assert review_url(answers[0]) not in page


def test_the_queue_page_lists_every_waiting_answer(client, world, answers):
    response = signed_in(client, world, "mleng").get(QUEUE)

    assert response.status_code == 200
    page = response.content.decode()
    assert review_url(answers[0]) in page
    assert review_url(answers[2]) in page
    assert review_url(answers[1]) not in page


@pytest.mark.parametrize("username", ["risk", "auditor", "legal", "admin"])
def test_the_queue_page_is_refused_to_whoever_reviews_no_use_case(client, world, answers, username):
    assert signed_in(client, world, username).get(QUEUE).status_code == 403


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_queue_pages_cost_the_same_queries_for_two_answers_or_twelve(client, world, intake, spans):
    answers_in_prod(world, intake, spans, ["escalated"] * 2)
    signed_in(client, world, "mleng")
    few = (_queries(client, QUEUE), _queries(client, reverse("admin:index")))
    answers_in_prod(world, intake, spans, ["escalated"] * 10)

    assert (_queries(client, QUEUE), _queries(client, reverse("admin:index"))) == few
    landing = client.get(reverse("admin:index")).content.decode()
    assert landing.count("/review/") == 10
    assert f'href="{QUEUE}"' in landing  # ten shown: the rest are one link away


def test_the_review_page_shows_what_the_serving_side_recorded(client, world, answers):
    response = signed_in(client, world, "mleng").get(review_url(answers[0]))

    assert response.status_code == 200
    page = response.content.decode()
    assert answers[0].response_id in page
    assert answers[0].model_version.identifier in page
    assert "pci_redaction, disclaimer" in page
    assert "Escalated to a human" in page
    assert 'id="review-form"' in page


def test_a_reviewer_overrides_with_a_reason_and_sees_it_on_the_trace_page(client, world, answers):
    signed_in(client, world, "mleng")

    response = client.post(review_url(answers[0]), {"decision": "overridden", "reason": REASON}, follow=True)

    assert response.redirect_chain == [(reverse("admin:evidence_trace", args=[answers[0].pk]), 302)]
    page = response.content.decode()
    assert f"Overridden by the reviewer by {world['mleng'].get_full_name()}" in page
    assert REASON in page
    assert 'id="statement-link"' not in page  # the statement stays the Auditors' and Risk Officers'
    review = AnswerReview.objects.get()
    assert (review.record_id, review.reviewer, review.decision) == (answers[0].pk, world["mleng"], "overridden")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"decision": "overridden", "reason": ""}, "reason"),
        ({"decision": "overridden", "reason": "x" * 4001}, "reason"),
        ({"decision": "maybe", "reason": REASON}, "decision"),
        ({}, "decision"),
    ],
)
def test_a_malformed_decision_is_a_form_error_and_nothing_is_recorded(client, world, answers, form, field):
    response = signed_in(client, world, "mleng").post(review_url(answers[0]), form)

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not AnswerReview.objects.exists()


@pytest.mark.parametrize("username", ["risk", "auditor"])
def test_a_reader_who_may_not_review_sees_why_and_cannot_decide(client, world, answers, username):
    signed_in(client, world, username)

    page = client.get(review_url(answers[0])).content.decode()
    response = client.post(review_url(answers[0]), {"decision": "approved", "reason": ""})

    assert 'id="review-form"' not in page
    assert "Responsible for monitoring" in page
    assert response.status_code == 403
    assert not AnswerReview.objects.exists()


@pytest.mark.parametrize("username", ["legal", "steward"])
def test_the_review_page_is_refused_to_whoever_may_neither_review_nor_read_answers(client, world, answers, username):
    signed_in(client, world, username)

    assert client.get(review_url(answers[0])).status_code == 403
    assert client.post(review_url(answers[0]), {"decision": "approved"}).status_code == 403
    assert not AnswerReview.objects.exists()


def test_an_answer_that_was_not_escalated_offers_no_review(client, world, answers):
    signed_in(client, world, "mleng")

    page = client.get(review_url(answers[1])).content.decode()
    response = client.post(review_url(answers[1]), {"decision": "approved", "reason": ""})

    assert "not escalated" in page
    assert 'id="review-form"' not in page
    assert response.status_code == 403
    assert not AnswerReview.objects.exists()
    # Nor does its trace page open to the reviewer: it is not an answer they review.
    assert client.get(reverse("admin:evidence_trace", args=[answers[1].pk])).status_code == 403


def test_a_decision_already_taken_is_a_conflict_naming_who_took_it(client, world, answers, user_in_role):
    from accounts.choices import Role

    answer_review_decide(record=answers[0], actor=world["mleng"], decision="overridden", reason=REASON)
    login_verified(client, user_in_role(Role.ML_ENGINEER, username="mleng-two"))

    page = client.get(review_url(answers[0])).content.decode()
    response = client.post(review_url(answers[0]), {"decision": "approved", "reason": ""})

    assert 'id="review-form"' not in page
    assert REASON in page
    assert response.status_code == 409
    assert "already decided this answer" in response.content.decode()
    assert AnswerReview.objects.get().decision == "overridden"


def test_the_review_page_answers_only_get_and_post(client, world, answers):
    assert signed_in(client, world, "mleng").put(review_url(answers[0])).status_code == 405
