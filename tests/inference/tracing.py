"""Answers worth tracing, recorded through the real OTLP intake: one of support-assistant:1 after a borderline gate a
Risk Officer accepted with a signature and signed change tickets to production; and one given after a rollback."""

from dataclasses import dataclass

from accounts.demo import DEFAULT_DEMO_PASSWORD
from governance.choices import EvaluationDimension
from inference.models import InferenceRecord
from registry.choices import Environment
from registry.models import ChangeTicket, Deployment, DeploymentEvent, GateDecision, ModelVersion
from registry.services.deployments import deployment_rollback
from registry.services.gates import gate_human_review
from registry.services.promotion import change_ticket_deploy
from tests.inference.conftest import genai_attributes, post

COMPLAINT_ANSWER = "Your refund of 42.10 EUR for invoice 7731 was approved today and reaches your card in 5 days."
RESPONSE_ID = "chatcmpl-complaint"


@dataclass
class Answered:
    record: InferenceRecord
    model_version: ModelVersion
    ticket: ChangeTicket
    gate: GateDecision


def answered_through_a_reviewed_gate(world, intake, spans, *, others: int = 0, reviewer: str = "risk") -> Answered:
    """``others`` more answers are recorded in the same batch after the complaint's, so its proof has a path;
    ``reviewer`` decides the borderline gate."""
    model_version = world.model()
    world.promote(model_version, Environment.TEST)
    gate = world.gate(model_version, rates={EvaluationDimension.FACTUALITY: (94, 100)})
    gate_human_review(
        decision=gate,
        reviewer=world[reviewer],
        verdict="accepted",
        note="The misses are paraphrases of correct answers; reviewed all six.",
        password=DEFAULT_DEMO_PASSWORD,
    )
    world.card(model_version)
    ticket = None
    for environment in (Environment.STAGING, Environment.PROD):
        ticket = change_ticket_deploy(
            ticket=world.sign_all(world.ticket(model_version, environment)), actor=world["mleng"]
        )
    made = spans()
    made.add(
        **genai_attributes(
            answer=COMPLAINT_ANSWER,
            **{"gen_ai.response.id": RESPONSE_ID, "portal.response_classification": "escalated"},
        )
    )
    for n in range(others):
        made.add(**genai_attributes(**{"gen_ai.response.id": f"chatcmpl-other-{n}"}))
    assert post(intake, made.protobuf()).status_code == 200
    gate.refresh_from_db()
    return Answered(InferenceRecord.objects.get(response_id=RESPONSE_ID), model_version, ticket, gate)


#: Why the Risk Officer of ``answered_after_a_rollback`` rolled back.
ROLLBACK_REASON = "Refund answers promise too much"


@dataclass
class AnsweredAfterRollback:
    record: InferenceRecord
    #: The version the rollback restored, and the ticket that had promoted it to production.
    model_version: ModelVersion
    ticket: ChangeTicket
    rollback: DeploymentEvent


def answered_after_a_rollback(world, intake, spans) -> AnsweredAfterRollback:
    """Two versions promoted to production in turn, the second rolled back by a Risk Officer, and then one answer."""
    first = world.model()
    first_ticket = world.promote(first, Environment.PROD)
    world.promote(world.model(), Environment.PROD)
    prod = Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)
    rollback = deployment_rollback(deployment=prod, actor=world["risk"], reason=ROLLBACK_REASON)
    assert post(intake, spans().add(**genai_attributes()).protobuf()).status_code == 200
    return AnsweredAfterRollback(InferenceRecord.objects.get(), first, first_ticket, rollback)
