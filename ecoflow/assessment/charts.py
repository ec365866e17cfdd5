"""Charts for the dashboard and the printable report: plain SVG drawn on the server, nothing fetched
from anywhere else. (pygal was tried: its import hook breaks other imports on Python 3.11.)"""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from .services import LABELS

COLORS = ("#1d6f42", "#2f80ed", "#f2994a", "#9b51e0")
TREND_FIGURES = ("response", "reply", "resolution", "satisfaction")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 48, 16, 36, 64


def _percent(figure):
    return None if figure["rate"] is None else round(figure["rate"] * 100, 1)


def trend_chart(groups: list[dict]) -> Markup:
    """The rates month by month, one line each (a month without items leaves a gap)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(groups) - 1)
    xs = [LEFT + i * step if len(groups) > 1 else LEFT + plot_w / 2 for i in range(len(groups))]
    series = []
    for color, name in zip(COLORS, TREND_FIGURES, strict=True):
        points = [(x, TOP + plot_h * (1 - v / 100)) for x, v in zip(xs, (_percent(g["figures"][name]) for g in groups),
                                                                     strict=True) if v is not None]  # fmt: skip
        series.append({"label": LABELS[name], "color": color, "points": points})
    frame = {"width": WIDTH, "height": HEIGHT, "left": LEFT, "top": TOP, "plot_w": plot_w, "plot_h": plot_h}
    months = [g["key"] for g in groups]
    return Markup(render_template("assessment/_trend.svg", series=series, months=months, xs=xs, **frame))


def ranking_chart(groups: list[dict], limit: int = 15) -> Markup:
    """The groups by ranking score, best first."""
    ranked = [g for g in groups if g.get("score") is not None][:limit]
    bar, label_w = 18, 150
    plot_w = WIDTH - label_w - 60
    bars = [{"label": g["label"], "value": round(g["score"] * 100, 1), "y": TOP + i * (bar + 6),
             "w": plot_w * g["score"]} for i, g in enumerate(ranked)]  # fmt: skip
    height = TOP + len(bars) * (bar + 6) + 16
    return Markup(render_template("assessment/_ranking.svg", bars=bars, bar=bar, label_w=label_w, width=WIDTH,
                                  height=height, color=COLORS[0]))  # fmt: skip
