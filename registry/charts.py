"""The registry's pictures: pass rate per evaluation dimension across a model's versions (model version page and
evidence pack) and monitoring rates over time against a deployment's alert thresholds (deployment page). Each
reads its rows in one query, whatever their number; the drawing is ``governance.charts``."""

from collections.abc import Iterable

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from governance.charts import BarGroup, LinePanel, grouped_bars, line_panels
from registry.models import Deployment, GateDecision, ModelVersion

#: How many of a model's versions, up to the one shown, the model version page compares.
VERSIONS_CHARTED = 8
#: How many of a deployment's most recent monitoring periods its page draws.
PERIODS_CHARTED = 24
#: The pages' charts are the evidence pack's geometry scaled up to this width for the screen.
PAGE_WIDTH = 900


def pass_rate_chart(gates: Iterable[GateDecision], *, display_width: float | None = None) -> SafeString | None:
    """Per evaluation dimension, the pass rate of each version at its latest gate among ``gates`` (which must
    have ``model_version`` selected), and the minimum pass rate of the latest version's thresholds."""
    latest: dict[ModelVersion, GateDecision] = {}
    for gate in sorted(gates, key=lambda gate: (gate.decided_at, gate.pk)):
        latest[gate.model_version] = gate
    versions = sorted(latest, key=lambda mv: (mv.name, mv.number))
    groups = []
    for dimension in sorted({d for gate in latest.values() for d in gate.figures}):
        figures = [latest[mv].figures.get(dimension) or {} for mv in versions]
        groups.append(
            BarGroup(
                label=next((f["label"] for f in figures if f.get("label")), dimension),
                threshold=next(
                    (f.get("min_pass_rate") for f in reversed(figures) if f.get("min_pass_rate") is not None), None
                ),
                bars=[(mv.identifier, figure.get("pass_rate")) for mv, figure in zip(versions, figures, strict=True)],
            )
        )
    return grouped_bars(groups, display_width=display_width)


def model_pass_rate_chart(version: ModelVersion, *, display_width: float = PAGE_WIDTH) -> SafeString | None:
    """This version and the versions of the same model registered before it (at most ``VERSIONS_CHARTED``)."""
    gates = GateDecision.objects.filter(
        model_version__use_case_id=version.use_case_id,
        model_version__name=version.name,
        model_version__number__lte=version.number,
        model_version__number__gt=version.number - VERSIONS_CHARTED,
    ).select_related("model_version")
    return pass_rate_chart(gates, display_width=display_width)


def monitoring_chart(deployment: Deployment, *, display_width: float = PAGE_WIDTH) -> SafeString | None:
    """The four monitored rates of the latest periods, oldest first, each with the deployment's alert threshold."""
    rows = list(
        deployment.monitoring.order_by("-period_end", "-id").values_list(
            "period_end", "policy_violation_rate", "refusal_rate", "escalation_rate", "human_override_rate"
        )[:PERIODS_CHARTED]
    )[::-1]
    if not rows:
        return None
    series = [
        (_("Policy violations"), deployment.max_policy_violation_rate),
        (_("Refusals"), deployment.max_refusal_rate),
        (_("Escalations"), deployment.max_escalation_rate),
        (_("Human overrides"), deployment.max_human_override_rate),
    ]
    panels = [
        LinePanel(label=f"{label} (%)", threshold=threshold, values=[row[i + 1] for row in rows])
        for i, (label, threshold) in enumerate(series)
    ]
    return line_panels(panels, [row[0].strftime("%m-%d %H:%M") for row in rows], display_width=display_width)
