"""Escalated answers to review: one model version live in prod, and its answers recorded through the real intake."""

from inference.models import InferenceRecord
from registry.choices import Environment
from tests.inference.conftest import genai_attributes, post


def answers_in_prod(world, intake, spans, outcomes: list[str]) -> list[InferenceRecord]:
    """One answer per outcome (``pass``, ``fail``, ``escalated``), in that order, as recorded."""
    version = world.model()
    world.promote(version, Environment.PROD)
    made = spans()
    for number, outcome in enumerate(outcomes):
        made.add(
            **genai_attributes(**{"gen_ai.response.id": f"answer-{number}", "portal.response_classification": outcome})
        )
    assert post(intake, made.protobuf()).status_code == 200
    by_response = {record.response_id: record for record in InferenceRecord.objects.select_related("use_case")}
    return [by_response[f"answer-{number}"] for number in range(len(outcomes))]
