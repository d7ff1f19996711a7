"""Monitoring summaries computed from the inference records, with the alerts and draft incidents of a posted one."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from inference.reviews import answer_review_decide
from inference.services import inference_monitoring_rollup
from registry.choices import IncidentState
from registry.models import Deployment
from tests.inference.conftest import genai_attributes, post, two_versions_in_prod
from tests.inference.reviewing import answers_in_prod

pytestmark = pytest.mark.django_db


def test_a_period_of_records_becomes_a_monitoring_summary_whose_alerts_raise_a_draft_incident(intake, world, spans):
    _first, second, prod = two_versions_in_prod(world)
    made = spans()
    outcomes = ["fail"] * 2 + ["escalated"] * 3 + ["pass"] * 5
    for number, outcome in enumerate(outcomes):
        finish = ["content_filter"] if number == 9 else ["stop"]
        made.add(
            **genai_attributes(
                **{
                    "gen_ai.response.id": f"r{number}",
                    "portal.response_classification": outcome,
                    "gen_ai.response.finish_reasons": finish,
                }
            )
        )
    made.add(**genai_attributes(**{"gen_ai.response.id": "dev", "portal.environment": "dev"}))  # another deployment
    assert post(intake, made.protobuf()).status_code == 200
    end = timezone.now() + datetime.timedelta(seconds=1)

    summary = inference_monitoring_rollup(
        deployment=prod, actor=world["mleng"], period_start=end - datetime.timedelta(hours=1), period_end=end
    )

    assert (summary.model_version, summary.volume) == (second, 10)
    assert (summary.policy_violation_rate, summary.escalation_rate, summary.refusal_rate) == (
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("10.00"),
    )
    assert (summary.human_override_rate, summary.review_backlog) == (0, 3)  # three escalations, none reviewed
    assert summary.incident.state == IncidentState.DRAFT
    assert len(summary.alerts) == 2  # violations above 1 %, escalations above 15 %; refusals at 10 % are not above


def test_a_period_without_records_is_a_summary_of_nothing(intake, world):
    _first, _second, prod = two_versions_in_prod(world)
    end = timezone.now()

    summary = inference_monitoring_rollup(
        deployment=prod, actor=world["mleng"], period_start=end - datetime.timedelta(days=1), period_end=end
    )

    assert (summary.volume, summary.policy_violation_rate, summary.incident) == (0, 0, None)


def test_the_rollup_command_records_the_summary_and_names_its_alerts(intake, world, spans):
    _first, _second, prod = two_versions_in_prod(world)
    made = spans()
    made.add(**genai_attributes(**{"portal.response_classification": "fail"}))
    post(intake, made.protobuf())
    end = timezone.now() + datetime.timedelta(seconds=1)
    out = StringIO()

    call_command(
        "rollup_inference",
        "--use-case=support-assistant",
        "--environment=prod",
        f"--start={(end - datetime.timedelta(hours=1)).isoformat()}",
        f"--end={end.isoformat()}",
        "--actor=mleng",
        stdout=out,
    )

    assert "1 answer(s) of support-assistant:" in out.getvalue()
    assert "alert: policy-violation rate 100.00% is above the alert threshold" in out.getvalue()
    assert prod.monitoring.get().volume == 1


def test_the_override_rate_is_the_reviewed_escalations_a_reviewer_overrode_and_the_rest_are_the_backlog(
    intake, world, spans
):
    records = answers_in_prod(world, intake, spans, ["escalated"] * 4 + ["pass"] * 4)
    prod = Deployment.objects.get(use_case=world.use_case, environment="prod")
    answer_review_decide(record=records[0], actor=world["mleng"], decision="overridden", reason="Wrong refund.")
    answer_review_decide(record=records[1], actor=world["mleng"], decision="approved", reason="")
    end = timezone.now() + datetime.timedelta(seconds=1)
    out = StringIO()

    call_command(
        "rollup_inference",
        "--use-case=support-assistant",
        "--environment=prod",
        f"--start={(end - datetime.timedelta(hours=1)).isoformat()}",
        f"--end={end.isoformat()}",
        "--actor=mleng",
        stdout=out,
    )

    summary = prod.monitoring.get()
    assert (summary.escalation_rate, summary.human_override_rate, summary.review_backlog) == (
        Decimal("50.00"),
        Decimal("50.00"),
        2,
    )
    assert "overridden by a reviewer 50.00%, 2 escalation(s) awaiting review" in out.getvalue()
    # The deployment's human-override threshold applies to the computed rate as to a posted one.
    assert any(alert.startswith("human-override rate 50.00%") for alert in summary.alerts)


def test_reviews_of_answers_outside_the_period_do_not_count(intake, world, spans):
    records = answers_in_prod(world, intake, spans, ["escalated"])
    prod = Deployment.objects.get(use_case=world.use_case, environment="prod")
    answer_review_decide(record=records[0], actor=world["mleng"], decision="overridden", reason="Wrong refund.")
    later = timezone.now() + datetime.timedelta(hours=1)

    summary = inference_monitoring_rollup(
        deployment=prod, actor=world["mleng"], period_start=later, period_end=later + datetime.timedelta(hours=1)
    )

    assert (summary.volume, summary.human_override_rate, summary.review_backlog) == (0, 0, 0)
