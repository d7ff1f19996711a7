"""The trace pages in the admin: the search on the Auditor's and Risk Officer's landing pages, one match opening its
trace, several listed, none said so, bad input refused with what to change, and everyone else refused."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from audit.models import AccessEvent, LedgerEntry
from inference.models import InferenceRecord
from inference.trace import MAX_QUERY_LENGTH
from tests.api.conftest import issue  # noqa: F401 - fixture
from tests.delegating import away
from tests.inference.conftest import genai_attributes, intake, post, spans  # noqa: F401 - fixtures
from tests.inference.tracing import (
    COMPLAINT_ANSWER,
    RESPONSE_ID,
    ROLLBACK_REASON,
    answered_after_a_rollback,
    answered_through_a_reviewed_gate,
)
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:evidence_trace_search")
TRACERS = ["auditor", "risk"]
OTHERS = ["steward", "legal", "security", "compliance", "product", "cab", "admin"]


@pytest.fixture
def answered(world, intake, spans):  # noqa: F811
    return answered_through_a_reviewed_gate(world, intake, spans)


@pytest.fixture
def after_rollback(world, intake, spans):  # noqa: F811
    return answered_after_a_rollback(world, intake, spans)


def signed_in(client, world, username: str):
    login_verified(client, world[username])
    return client


@pytest.mark.parametrize("username", TRACERS)
def test_the_landing_page_of_an_auditor_and_a_risk_officer_carries_the_trace_search(client, world, username) -> None:
    page = signed_in(client, world, username).get(reverse("admin:index")).content.decode()

    assert f'action="{SEARCH}"' in page
    assert 'name="q"' in page


@pytest.mark.parametrize("username", ["mleng", "legal", "compliance"])
def test_other_landing_pages_carry_no_trace_search(client, world, username) -> None:
    page = signed_in(client, world, username).get(reverse("admin:index")).content.decode()

    assert SEARCH not in page


@pytest.mark.parametrize("username", TRACERS)
def test_a_pasted_answer_opens_its_trace_page(client, world, answered, username) -> None:
    signed_in(client, world, username)

    response = client.post(SEARCH, {"q": COMPLAINT_ANSWER.replace(" reaches", "\nreaches")}, follow=True)

    assert response.redirect_chain == [(reverse("admin:evidence_trace", args=[answered.record.pk]), 302)]
    page = response.content.decode()
    assert answered.model_version.identifier in page
    assert answered.ticket.identifier in page
    assert str(answered.gate.threshold_policy) in page
    assert "Human reviewer: Rafael Iskander" in page
    assert "Escalated to a human" in page
    assert COMPLAINT_ANSWER not in page


def test_a_conversation_id_lists_its_answers(client, world, answered, intake, spans) -> None:  # noqa: F811
    post(intake, spans().add(**genai_attributes(**{"gen_ai.response.id": "chatcmpl-second"})).protobuf())
    signed_in(client, world, "auditor")

    response = client.post(SEARCH, {"q": "conv-1"})

    assert response.status_code == 200
    page = response.content.decode()
    for record in InferenceRecord.objects.all():
        assert reverse("admin:evidence_trace", args=[record.pk]) in page
    assert RESPONSE_ID in page
    assert "chatcmpl-second" in page


def test_an_answer_never_given_is_said_not_to_match(client, world, answered) -> None:
    response = signed_in(client, world, "auditor").post(SEARCH, {"q": "An answer the model never gave."})

    assert response.status_code == 200
    assert 'id="trace-none"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"), [("  ", "Enter a response id"), ("x" * (MAX_QUERY_LENGTH + 1), "at most")]
)
def test_an_empty_or_oversized_search_is_refused_with_what_to_change(client, world, query, message) -> None:
    response = signed_in(client, world, "auditor").post(SEARCH, {"q": query})

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_search_is_never_sent_in_the_url(client, world, answered) -> None:
    response = signed_in(client, world, "auditor").get(SEARCH, {"q": RESPONSE_ID})

    assert response.status_code == 200
    assert 'id="trace-results"' not in response.content.decode()


@pytest.mark.parametrize("username", OTHERS)
def test_everyone_else_is_refused_the_search_the_trace_and_the_statement(client, world, answered, username) -> None:
    signed_in(client, world, username)
    pk = answered.record.pk

    assert client.get(SEARCH).status_code == 403
    assert client.post(SEARCH, {"q": RESPONSE_ID}).status_code == 403
    assert client.get(reverse("admin:evidence_trace", args=[pk])).status_code == 403
    assert client.get(reverse("admin:evidence_trace_statement", args=[pk])).status_code == 403
    assert not AccessEvent.objects.exists()
    assert LedgerEntry.objects.filter(action="denied", object_type="inference.inferencerecord").count() == 1


def test_the_answer_reviewer_reads_the_trace_of_an_escalated_answer_but_neither_searches_nor_takes_the_statement(
    client, world, answered
) -> None:
    """The demo RACI makes the ML Engineer Responsible for monitoring: they review escalated answers, so they may read
    what such an answer rests on; searching any answer and taking the statement away stay the tracers'."""
    signed_in(client, world, "mleng")
    pk = answered.record.pk

    assert client.get(SEARCH).status_code == 403
    page = client.get(reverse("admin:evidence_trace", args=[pk]))
    assert page.status_code == 200
    assert "statement-link" not in page.content.decode()
    assert client.get(reverse("admin:evidence_trace_statement", args=[pk])).status_code == 403
    assert not AccessEvent.objects.exists()


def test_the_trace_of_an_answer_after_a_rollback_links_its_incident_and_names_the_promotion_it_went_back_to(
    client, world, after_rollback
) -> None:
    page = signed_in(client, world, "auditor").get(reverse("admin:evidence_trace", args=[after_rollback.record.pk]))

    shown = page.content.decode()
    made_live = shown.split('id="trace-made-live">', 1)[1].split("</dd>", 1)[0]
    assert made_live.startswith("Rolled back")
    assert reverse("admin:registry_incident_change", args=[after_rollback.rollback.incident.pk]) in made_live
    assert ROLLBACK_REASON in made_live
    assert 'id="trace-promotion">Deployed' in shown
    assert reverse("admin:registry_changeticket_change", args=[after_rollback.ticket.pk]) in shown


def test_the_statement_download_is_a_signed_pdf_recorded_as_an_access_event(client, world, answered) -> None:
    response = signed_in(client, world, "risk").get(
        reverse("admin:evidence_trace_statement", args=[answered.record.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    event = AccessEvent.objects.get()
    assert event.user == world["risk"]
    assert event.detail["sha256"] == response["X-Content-SHA256"]


def test_an_unknown_record_is_not_found_and_not_told_to_others(client, world) -> None:
    signed_in(client, world, "auditor")
    assert client.get(reverse("admin:evidence_trace", args=[999999])).status_code == 404
    assert client.get(reverse("admin:evidence_trace_statement", args=[999999])).status_code == 404

    signed_in(client, world, "mleng")
    assert client.get(reverse("admin:evidence_trace", args=[999999])).status_code == 403
    assert client.get(reverse("admin:evidence_trace_statement", args=[999999])).status_code == 403


def test_the_trace_page_lists_each_signature_with_its_note_and_on_whose_behalf(client, world, intake, spans) -> None:  # noqa: F811
    away(world["risk"], world["risk2"], role=Role.RISK_OFFICER)  # Rosa decides the gate on Rafael's behalf
    answered = answered_through_a_reviewed_gate(world, intake, spans, reviewer="risk2")
    signed_in(client, world, "auditor")

    page = client.get(reverse("admin:evidence_trace", args=[answered.record.pk])).content.decode()

    approvals = page[page.index('id="trace-approvals"') :]
    assert 'Rosa Lindqvist <span class="signature-behalf">on behalf of Rafael Iskander</span>' in approvals
    assert "The misses are paraphrases of correct answers; reviewed all six." in approvals
