"""Tracing an answer: found by each kind of query a complaint brings (a pasted answer too, under retired keys), and
read back as what held at that time, for a fixed number of queries however many records there are."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.demo import DEFAULT_DEMO_PASSWORD
from governance.choices import EvaluationDimension
from governance.services.overrides import break_glass_override
from inference.models import InferenceRecord
from inference.trace import MAX_QUERY_LENGTH, TraceQueryInvalid, records_matching, trace
from registry.choices import DeploymentEventKind, Environment
from registry.services.promotion import change_ticket_deploy
from tests.inference.conftest import ANSWER, genai_attributes, post
from tests.inference.tracing import COMPLAINT_ANSWER, ROLLBACK_REASON, answered_after_a_rollback

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(intake, world, spans):
    """support-assistant:1 live in production, and two answers of one conversation recorded through the intake."""
    first = world.model()
    ticket = world.promote(first, Environment.PROD)
    made = spans()
    made.add(**genai_attributes(answer=COMPLAINT_ANSWER, **{"gen_ai.response.id": "chatcmpl-complaint"}))
    made.add(**genai_attributes(**{"gen_ai.response.id": "chatcmpl-other"}))
    assert post(intake, made.protobuf()).status_code == 200
    return InferenceRecord.objects.get(response_id="chatcmpl-complaint"), first, ticket


def test_a_pasted_answer_finds_its_record(answered) -> None:
    record, _version, _ticket = answered

    pasted = "  " + COMPLAINT_ANSWER.replace(" reaches ", "\n\treaches ") + "\n"

    assert records_matching(pasted) == [record]


def test_an_answer_the_model_never_gave_finds_nothing(answered) -> None:
    assert records_matching("Your refund of 42.10 EUR for invoice 7732 was approved today.") == []
    assert records_matching("chatcmpl-unknown") == []


def test_a_response_id_a_trace_id_and_a_conversation_id_find_their_records(answered) -> None:
    record, _version, _ticket = answered
    other = InferenceRecord.objects.get(response_id="chatcmpl-other")

    assert records_matching("chatcmpl-complaint") == [record]
    assert records_matching(f" {record.trace_id.upper()} ") == [record]
    assert set(records_matching("conv-1")) == {record, other}


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "Enter a response id"), ("   \n ", "Enter a response id"), ("x" * (MAX_QUERY_LENGTH + 1), "at most")],
)
def test_an_empty_or_oversized_query_is_refused_with_what_to_change(answered, query, message) -> None:
    with pytest.raises(TraceQueryInvalid, match=message):
        records_matching(query)


def test_an_answer_written_under_a_retired_key_is_found_after_rotation(intake, world, spans, settings) -> None:
    world.promote(world.model(), Environment.PROD)
    settings.INFERENCE_HMAC_KEYS = {"2026-06": "o" * 32}
    settings.INFERENCE_HMAC_KEY_ID = "2026-06"
    post(intake, spans().add(**genai_attributes(answer=COMPLAINT_ANSWER, **{"gen_ai.response.id": "old"})).protobuf())

    settings.INFERENCE_HMAC_KEYS = {"2026-06": "o" * 32, "2026-12": "n" * 32}
    settings.INFERENCE_HMAC_KEY_ID = "2026-12"

    [found] = records_matching(COMPLAINT_ANSWER)
    assert (found.response_id, found.hmac_key_id) == ("old", "2026-06")


def test_the_trace_reads_the_answer_at_that_time(answered, world) -> None:
    record, version, ticket = answered

    found = trace(record)

    assert found.model_version == version
    assert found.event.change_ticket == ticket
    assert found.ticket == ticket
    assert len(found.ticket_signatures) == len(ticket.required_roles)
    assert all(signature.valid for signature in found.ticket_signatures)
    assert [shown.version.identifier for shown in found.datasets] == ["support-chats@1"]
    [dataset] = found.datasets
    assert dataset.content_digest == dataset.version.content_digest
    assert dataset.sources
    assert all(source.legal_basis for source in dataset.sources)
    assert dataset.signatures
    assert all(signature.valid for signature in dataset.signatures)
    assert found.gate is not None
    assert found.gate.model_version == version
    assert {row["dimension"] for row in found.thresholds} == set(found.gate.figures)
    assert any(row["min_pass_rate"] is not None for row in found.thresholds)
    assert found.record.policy_checks == ["pci_redaction", "disclaimer"]
    assert found.proven
    assert found.proof.ledger_sequence == record.batch.ledger_sequence
    assert found.notes == []


def test_an_answer_given_before_a_later_promotion_is_traced_to_the_version_live_then(intake, world, spans) -> None:
    first = world.model()
    world.promote(first, Environment.PROD)
    before = timezone.now()
    second = world.model()
    world.promote(second, Environment.PROD)
    made = spans()
    made.add(at=before, **genai_attributes(**{"gen_ai.response.id": "chatcmpl-early"}))
    post(intake, made.protobuf())

    found = trace(InferenceRecord.objects.get(response_id="chatcmpl-early"))

    assert found.model_version == first
    assert found.ticket.model_version == first
    assert found.event.happened_at <= before


def test_an_answer_after_a_rollback_shows_the_rollback_and_the_ticket_that_promoted_the_restored_version(
    intake, world, spans
) -> None:
    """The rollback's own record is its incident and reason; what approved the restored version for production is
    its earlier promotion's ticket, with that ticket's signatures and gate."""
    answered = answered_after_a_rollback(world, intake, spans)

    found = trace(answered.record)

    assert found.model_version == answered.model_version
    assert (found.event, found.event.kind) == (answered.rollback, DeploymentEventKind.ROLLBACK)
    assert found.event.incident is not None
    assert found.event.reason == ROLLBACK_REASON
    assert (found.promotion.kind, found.promotion.model_version) == (DeploymentEventKind.DEPLOY, answered.model_version)
    assert found.promotion.happened_at < answered.rollback.happened_at
    assert found.ticket == answered.ticket
    assert found.ticket_signatures
    assert all(signature.valid for signature in found.ticket_signatures)
    assert found.gate is not None
    assert found.gate.pk == answered.ticket.gate_decision_id
    assert found.notes == []


def test_an_answer_of_a_version_put_live_by_break_glass_shows_the_override(intake, world, spans) -> None:
    version = world.model()
    world.promote(version, Environment.STAGING)
    world.card(version)
    ticket = world.sign_all(world.ticket(version, Environment.PROD))
    world.gate(version, rates={EvaluationDimension.SAFETY: (5, 10)})
    ticket.refresh_from_db()
    override = break_glass_override(
        record=ticket,
        gate="promotion",
        justification="Regulator-mandated disclosure change must be live by midnight; the failing case is known.",
        requested_by=world["mleng"],
        approver=world["risk2"],
        approver_password=DEFAULT_DEMO_PASSWORD,
    )
    change_ticket_deploy(ticket=ticket, actor=world["mleng"], override=override)
    post(intake, spans().add(**genai_attributes()).protobuf())

    found = trace(InferenceRecord.objects.get())

    assert found.ticket == ticket
    assert found.overrides == [override]
    assert found.overrides[0].approved_by == world["risk2"]


def test_an_answer_when_nothing_was_live_says_so(intake, world, spans) -> None:
    made = spans()
    made.add(at=timezone.now() - datetime.timedelta(days=1), **genai_attributes())
    post(intake, made.protobuf())

    found = trace(InferenceRecord.objects.get())

    assert found.model_version is None
    assert found.ticket is None
    assert found.datasets == []
    assert found.notes == ["No model version was live in this environment when the answer started."]


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def test_finding_and_tracing_an_answer_costs_the_same_queries_however_many_records_there_are(
    answered, intake, spans
) -> None:
    record, _version, _ticket = answered
    trace(record)  # content types cached, as in a running portal
    few_search = _queries(lambda: records_matching(COMPLAINT_ANSWER))
    few_trace = _queries(lambda: trace(record))

    made = spans()
    for number in range(60):
        made.add(**genai_attributes(answer=f"{ANSWER} ({number})", **{"gen_ai.response.id": f"more-{number}"}))
    post(intake, made.protobuf())

    assert _queries(lambda: records_matching(COMPLAINT_ANSWER)) == few_search == 1
    assert _queries(lambda: trace(record)) == few_trace
    # The record, the live change, the lineage (links, sources, each dataset version's signed digest), the gate, the
    # signatures, the overrides, the batch and its ledger entry: none of them grows with the inference records.
    assert few_trace <= 14
