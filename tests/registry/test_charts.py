"""The registry's pictures, read back as XML: pass rate per dimension across a model's versions with the threshold
line, and monitoring rates over time with the deployment's alert thresholds; each page draws its chart in the same
number of queries whatever the number of versions or periods."""

import datetime
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.charts import CHAR_WIDTH, BarGroup, LinePanel, grouped_bars, line_panels
from governance.choices import EvaluationDimension
from registry.charts import model_pass_rate_chart, monitoring_chart
from registry.choices import Environment
from registry.models import Deployment
from registry.services.monitoring import monitoring_summary_record
from tests.signing_in import login_verified

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: object) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - the portal's own SVG


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def assert_no_label_cut(root: ET.Element) -> None:
    """Every left-anchored label ends inside the picture (at the estimate the charts size themselves with)."""
    width = float(root.get("viewBox").split()[2])
    for text in root.iter(f"{SVG}text"):
        if text.get("text-anchor") is None:
            right = float(text.get("x")) + len(text.text) * float(text.get("font-size")) * CHAR_WIDTH
            assert right <= width, text.text


def chart_on(page: str, box_id: str) -> ET.Element:
    match = re.search(rf'<div id="{box_id}" class="chart-box">(<svg.*?</svg>)</div>', page, re.DOTALL)
    assert match, f"no chart in #{box_id}"
    return parse(match.group(1))


def test_bars_print_every_value_and_draw_the_threshold_where_it_falls() -> None:
    groups = [
        BarGroup(label="Safety <b>", threshold=Decimal("95"), bars=[("a-very-long-model-name:1", 90.0), ("m:2", None)]),
        BarGroup(label="Accuracy", threshold=None, bars=[("a-very-long-model-name:1", 100), ("m:2", 50)]),
    ]

    root = parse(grouped_bars(groups, display_width=960))

    words = texts(root)
    assert "Safety <b> (minimum 95%)" in words
    assert [w for w in words if w.endswith("%") and "(" not in w] == ["90.00%", "-%", "100.00%", "50.00%"]
    bars = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert bars[2] == pytest.approx(2 * bars[3], abs=0.1)  # 100% is twice 50%
    (line,) = root.iter(f"{SVG}line")  # one threshold: Accuracy has none
    left = float(next(root.iter(f"{SVG}rect")).get("x"))
    assert float(line.get("x1")) - left == pytest.approx(bars[2] * 0.95, abs=0.2)
    assert root.get("width") == "960"
    assert_no_label_cut(root)
    assert grouped_bars([]) is None


def test_monitoring_panels_draw_each_rate_and_its_threshold_on_the_same_scale() -> None:
    labels = [f"12-0{day} 10:00" for day in range(1, 6)]
    panels = [
        LinePanel(
            label="Refusals (%)", threshold=Decimal("5.00"), values=[Decimal(v) for v in ["1", "2", "3", "8", "4"]]
        ),
        LinePanel(label="Escalations (%)", threshold=None, values=[Decimal("0.50")] * 5),
    ]

    root = parse(line_panels(panels, labels))

    (threshold,) = root.findall(f".//{SVG}line[@class='threshold']")
    assert threshold.get("data-value") == "5.00"
    assert "alert above 5.00%" in texts(root)
    values = [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "value"]
    assert values == ["1", "2", "3", "8", "4", "0.50", "0.50", "0.50", "0.50", "0.50"]
    (line, *_rest) = root.findall(f".//{SVG}polyline")
    points = [tuple(map(float, point.split(","))) for point in line.get("points").split()]
    zero = float(root.findall(f".//{SVG}line")[0].get("y1"))  # the panel's axis
    scale = (zero - points[3][1]) / 8
    assert zero - float(threshold.get("y1")) == pytest.approx(5 * scale, abs=0.2)
    circles = root.findall(f".//{SVG}circle")
    assert [c.get("fill") for c in circles[:5]].count("#a00") == 1  # only 8% is above 5%
    assert labels[0] in texts(root)
    assert_no_label_cut(root)
    assert line_panels(panels, []) is None


@pytest.mark.django_db
class TestPages:
    def page(self, client: Client, world, name: str, pk: int) -> tuple[str, int]:
        login_verified(client, world["auditor"])
        url = reverse(name, args=[pk])
        client.get(url)  # warm the per-process caches (sessions, permissions, content types)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    def test_model_version_page_charts_it_beside_its_earlier_versions_in_constant_queries(self, client, world):
        first, second = world.model(), world.model()
        world.gate(first)
        world.gate(second, rates={EvaluationDimension.BIAS_FAIRNESS: (9, 10)})

        page, two_versions = self.page(client, world, "admin:registry_modelversion_change", second.pk)
        chart = chart_on(page, "pass-rate-chart")
        third = world.model()
        world.gate(third, rates={EvaluationDimension.BIAS_FAIRNESS: (8, 10)})
        world.gate(third)  # the latest gate counts
        _page, three_versions = self.page(client, world, "admin:registry_modelversion_change", third.pk)

        words = texts(chart)
        assert {first.identifier, second.identifier} <= set(words)
        assert third.identifier not in words  # later versions are not this version's history
        assert "90.00%" in words
        assert any(word.startswith("Bias") and "(minimum" in word for word in words)
        assert chart.findall(f".//{SVG}line")  # the threshold lines
        assert_no_label_cut(chart)
        latest = texts(parse(model_pass_rate_chart(third)))
        assert {first.identifier, second.identifier, third.identifier} <= set(latest)
        assert "80.00%" not in latest
        assert two_versions == three_versions

    def test_deployment_page_charts_monitoring_against_its_alert_thresholds_in_constant_queries(self, client, world):
        model = world.model()
        world.promote(model, Environment.PROD)
        prod = Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)
        now = timezone.now()

        def report(days_ago: int, violations: str) -> None:
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

        report(3, "0.25")
        report(2, "0.75")
        page, two_periods = self.page(client, world, "admin:registry_deployment_change", prod.pk)
        for days_ago in range(1, -2, -1):
            report(days_ago, "2.5")
        _page, five_periods = self.page(client, world, "admin:registry_deployment_change", prod.pk)

        chart = chart_on(page, "monitoring-chart")
        thresholds = [line.get("data-value") for line in chart.findall(f".//{SVG}line[@class='threshold']")]
        assert thresholds == [
            str(prod.max_policy_violation_rate),
            str(prod.max_refusal_rate),
            str(prod.max_escalation_rate),
            str(prod.max_human_override_rate),
        ]
        values = [text.text for text in chart.iter(f"{SVG}text") if text.get("class") == "value"]
        assert values[:2] == ["0.25", "0.75"]  # oldest first
        assert "Policy violations (%)" in texts(chart)
        assert_no_label_cut(chart)
        assert len(parse(monitoring_chart(prod)).findall(f".//{SVG}polyline")[0].get("points").split()) == 5
        assert two_periods == five_periods
