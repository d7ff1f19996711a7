"""The pictures an auditor would rather look at than read, in a real browser: the pass rate per dimension across a
model's versions, a deployment's monitoring rates against its alert thresholds, and the lineage graph whose nodes
open their records."""

import datetime

import pytest
from django.utils import timezone

from governance.choices import EvaluationDimension
from registry.choices import Environment
from registry.models import Deployment
from registry.services.monitoring import monitoring_summary_record
from tests.conftest import sign_in
from tests.registry import conftest as registry
from tests.registry.conftest import version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world


def visible_box(page: object, selector: str) -> dict:
    chart = page.locator(selector)
    chart.wait_for(state="visible")
    box = chart.bounding_box()
    assert box["width"] > 300
    assert box["height"] > 50
    return box


def test_an_auditor_sees_the_charts_and_follows_the_lineage_to_a_parent(live_server, world, page) -> None:
    first, second = world.model(), world.model()
    world.gate(first)
    world.gate(second, rates={EvaluationDimension.BIAS_FAIRNESS: (9, 10)})
    world.promote(first, Environment.PROD)
    prod = Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)
    now = timezone.now()
    for days_ago, violations in ((2, "0.25"), (1, "2.5")):
        monitoring_summary_record(
            deployment=prod,
            actor=world["mleng"],
            period_start=now - datetime.timedelta(days=days_ago + 1),
            period_end=now - datetime.timedelta(days=days_ago),
            volume=1000,
            policy_violation_rate=violations,
            refusal_rate="3",
            escalation_rate="4.5",
            human_override_rate="1",
        )
    base = live_server.url
    sign_in(page, base, "auditor")

    page.goto(f"{base}/admin/registry/modelversion/{second.pk}/change/")
    visible_box(page, "#pass-rate-chart svg")
    bars = page.locator("#pass-rate-chart svg").text_content()
    assert first.identifier in bars
    assert second.identifier in bars
    assert "90.00%" in bars

    page.goto(f"{base}/admin/registry/deployment/{prod.pk}/change/")
    visible_box(page, "#monitoring-chart svg")
    rates = page.locator("#monitoring-chart svg").text_content()
    assert f"alert above {prod.max_policy_violation_rate}%" in rates
    assert "2.50" in rates

    draft, parent = version("support-chats@3"), version("support-chats@2")
    page.goto(f"{base}/admin/lineage/datasetversion/{draft.pk}/change/")
    visible_box(page, "#lineage-graph svg")
    approved = page.locator("#lineage-graph svg a", has_text="Approved for training").first
    label, node = approved.locator("text").bounding_box(), approved.locator("rect").bounding_box()
    assert label["x"] + label["width"] <= node["x"] + node["width"]  # the whole label inside its box
    page.locator("#lineage-graph svg a", has_text=f"{parent} · ").click()
    page.wait_for_url(f"**/admin/lineage/datasetversion/{parent.pk}/change/")
    assert str(parent) in page.inner_text("#content")
