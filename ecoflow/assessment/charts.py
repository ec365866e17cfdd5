"""Charts for the dashboard and the printable report: SVG rendered on the server by pygal, with no
script or style fetched from anywhere else."""

from __future__ import annotations

import pygal
from markupsafe import Markup
from pygal.style import Style

from .services import LABELS

STYLE = Style(
    background="white", plot_background="white", font_family='"PingFang SC", "Microsoft YaHei", sans-serif',
    colors=("#1d6f42", "#2f80ed", "#f2994a", "#9b51e0", "#eb5757"), title_font_size=14, label_font_size=11,
    legend_font_size=11,
)  # fmt: skip
OPTIONS = {"js": [], "disable_xml_declaration": True, "style": STYLE, "width": 640, "height": 300,
           "explicit_size": True}  # fmt: skip
TREND_FIGURES = ("response", "reply", "resolution", "satisfaction")


def _svg(chart) -> Markup:
    return Markup(chart.render(is_unicode=True))


def _percent(figure):
    return None if figure["rate"] is None else round(figure["rate"] * 100, 1)


def trend_chart(groups: list[dict]) -> Markup:
    """The rates month by month."""
    chart = pygal.Line(title="月度趋势（%）", range=(0, 100), show_dots=True, legend_at_bottom=True, **OPTIONS)
    chart.x_labels = [g["key"] for g in groups]
    for name in TREND_FIGURES:
        chart.add(LABELS[name], [_percent(g["figures"][name]) for g in groups])
    return _svg(chart)


def ranking_chart(groups: list[dict], limit: int = 15) -> Markup:
    """The units (or other groups) by ranking score."""
    ranked = [g for g in groups if g.get("score") is not None][:limit]
    chart = pygal.HorizontalBar(title="综合得分排名（%）", range=(0, 100), show_legend=False, **OPTIONS)
    chart.x_labels = [g["label"] for g in reversed(ranked)]
    chart.add("综合得分", [round(g["score"] * 100, 1) for g in reversed(ranked)])
    return _svg(chart)
