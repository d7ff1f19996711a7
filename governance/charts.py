"""Small charts drawn on the server as inline SVG: they need no script (the CSP allows none inline), print in the
evidence pack's PDF as on the page, and every label is escaped. Callers compute the numbers; these functions only
place them. Sizes are in SVG user units (1 unit = 1 CSS px); ``display_width`` scales the whole picture."""

import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

#: A generous average advance of DejaVu Sans, as a fraction of the font size, to size label columns and boxes.
CHAR_WIDTH = 0.62

# Geometry of the bar chart (640 units fill the 169 mm of text width of an A4 pack page).
CHART_WIDTH = 640
CHART_ROW = 14
CHART_GAP = 8
CHART_VALUE_ROOM = 48
CHART_FONT = 7

# Geometry of the line panels.
PANEL_HEIGHT = 70
PANEL_TOP = 14
PANEL_BOTTOM = 16
PANEL_LEFT = 36
PANEL_RIGHT = 110
PANEL_FONT = 7
PANEL_GAP = 10


def text_width(text: str, font_size: float) -> float:
    """An upper estimate of the width of ``text`` at ``font_size`` (no font metrics on the server)."""
    return len(text) * font_size * CHAR_WIDTH


@dataclass(frozen=True)
class BarGroup:
    """One group of horizontal bars (rates in percent) under a heading, with an optional threshold line."""

    label: str
    threshold: Decimal | float | None
    bars: list[tuple[str, Decimal | float | None]]


@dataclass(frozen=True)
class LinePanel:
    """One series of rates (percent) over time, with an optional alert threshold line."""

    label: str
    threshold: Decimal | float | None
    values: list[Decimal | float]


def _svg(css_class: str, width: float, height: float, display_width: float | None, parts: list) -> SafeString:
    shown = display_width or width
    return format_html(
        '<svg class="{}" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}">{}</svg>',
        css_class,
        shown,
        height if shown == width else f"{height * shown / width:.0f}",
        width,
        height,
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def grouped_bars(
    groups: list[BarGroup], *, css_class: str = "chart", display_width: float | None = None
) -> SafeString | None:
    """Per group, a bold heading on a line of its own ("label (minimum N%)"), then one bar per row with its label
    on the left and the value printed at the bar's end; the threshold as a dashed vertical line. The label column
    is as wide as the longest row label, so no label is cut."""
    if not groups:
        return None
    label_w = int(max(text_width(label, CHART_FONT) for group in groups for label, _rate in group.bars)) + 8
    bar_x = label_w
    bar_max = CHART_WIDTH - bar_x - CHART_VALUE_ROOM
    parts = []
    y = 0
    for group in groups:
        minimum = group.threshold
        heading = format_html("{} (minimum {}%)", group.label, minimum) if minimum is not None else group.label
        parts.append(format_html('<text x="0" y="{}" font-size="8" font-weight="bold">{}</text>', y + 9, heading))
        y += 12
        top = y
        for label, value in group.bars:
            rate = float(value or 0)
            width = bar_max * rate / 100
            parts.append(
                format_html(
                    '<text x="0" y="{}" font-size="{}">{}</text>'
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="#4a78a8"/>'
                    '<text x="{}" y="{}" font-size="{}">{}%</text>',
                    y + 8,
                    CHART_FONT,
                    label,
                    bar_x,
                    y + 1,
                    f"{width:.1f}",
                    CHART_ROW - 4,
                    f"{bar_x + width + 3:.1f}",
                    y + 8,
                    CHART_FONT,
                    f"{rate:.2f}" if value is not None else "-",
                )
            )
            y += CHART_ROW
        if minimum is not None:
            x = f"{bar_x + bar_max * float(minimum) / 100:.1f}"
            parts.append(
                format_html(
                    '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#a00" stroke-width="1" stroke-dasharray="3,2"/>',
                    x,
                    top - 1,
                    x,
                    y,
                )
            )
        y += CHART_GAP
    return _svg(css_class, CHART_WIDTH, y, display_width, parts)


def line_panels(
    panels: list[LinePanel], x_labels: list[str], *, css_class: str = "chart", display_width: float | None = None
) -> SafeString | None:
    """One panel per series, stacked, sharing the time axis: the series as a line with each value printed at its
    point, the threshold as a dashed red line labelled on the right, and as many time labels as fit unclipped.
    Each panel's scale runs from 0 to a little above the larger of its highest value and its threshold."""
    if not panels or not x_labels:
        return None
    count = len(x_labels)
    plot_w = CHART_WIDTH - PANEL_LEFT - PANEL_RIGHT
    step = plot_w / max(count - 1, 1)
    label_every = max(1, math.ceil((max(text_width(label, PANEL_FONT) for label in x_labels) + 6) / step))
    xs = [PANEL_LEFT + (i * step if count > 1 else plot_w / 2) for i in range(count)]
    parts = []
    y = 0
    for panel in panels:
        values = [float(value) for value in panel.values]
        threshold = float(panel.threshold) if panel.threshold is not None else None
        top = max([*values, threshold or 0, 1]) * 1.15
        parts.append(format_html('<text x="0" y="{}" font-size="8" font-weight="bold">{}</text>', y + 9, panel.label))
        plot_top = y + PANEL_TOP
        plot_bottom = plot_top + PANEL_HEIGHT

        def at(value: float, plot_bottom: float = plot_bottom, top: float = top) -> str:
            return f"{plot_bottom - PANEL_HEIGHT * value / top:.1f}"

        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="0.5"/>'
                '<text x="{}" y="{}" font-size="{}" text-anchor="end">0%</text>'
                '<text x="{}" y="{}" font-size="{}" text-anchor="end">{}%</text>',
                PANEL_LEFT,
                plot_bottom,
                PANEL_LEFT + plot_w,
                plot_bottom,
                PANEL_LEFT - 4,
                plot_bottom,
                PANEL_FONT,
                PANEL_LEFT - 4,
                f"{plot_top + PANEL_FONT:.0f}",
                PANEL_FONT,
                f"{top:.1f}",
            )
        )
        if threshold is not None:
            parts.append(
                format_html(
                    '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#a00" stroke-width="1" '
                    'stroke-dasharray="3,2" data-value="{}"/>'
                    '<text x="{}" y="{}" font-size="{}" fill="#a00">alert above {}%</text>',
                    PANEL_LEFT,
                    at(threshold),
                    PANEL_LEFT + plot_w,
                    at(threshold),
                    panel.threshold,
                    PANEL_LEFT + plot_w + 6,
                    f"{float(at(threshold)) + 3:.1f}",
                    PANEL_FONT,
                    panel.threshold,
                )
            )
        points = " ".join(f"{x:.1f},{at(value)}" for x, value in zip(xs, values, strict=True))
        parts.append(format_html('<polyline points="{}" fill="none" stroke="#4a78a8" stroke-width="1.5"/>', points))
        for x, value, raw in zip(xs, values, panel.values, strict=True):
            above = threshold is not None and value > threshold
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="2" fill="{}"/>'
                    '<text class="value" x="{}" y="{}" font-size="{}" text-anchor="middle">{}</text>',
                    f"{x:.1f}",
                    at(value),
                    "#a00" if above else "#4a78a8",
                    f"{x:.1f}",
                    f"{float(at(value)) - 4:.1f}",
                    PANEL_FONT - 1,
                    raw,
                )
            )
        for i, (x, label) in enumerate(zip(xs, x_labels, strict=True)):
            if i % label_every == 0:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" font-size="{}" text-anchor="middle">{}</text>',
                        f"{x:.1f}",
                        plot_bottom + 10,
                        PANEL_FONT,
                        label,
                    )
                )
        y = plot_bottom + PANEL_BOTTOM + PANEL_GAP
    return _svg(css_class, CHART_WIDTH, y, display_width, parts)
