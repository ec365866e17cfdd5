"""月报: the month's measures, rankings, trend, hotspots and the overdue and reopened cases, as data
for the printable page and as an Excel workbook (XlsxWriter)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from io import BytesIO

from flask import send_file

from ecoflow.exports import Workbook
from ecoflow.norm.current import get_norm
from ecoflow.timeutil import SHANGHAI

from . import hotspots, services
from .facts import month_of

# The case lists of a report stop here, the latest first (the workbook says how many there were in all;
# the dashboard lists every one).
LIST_LIMIT = 2000
DIMENSIONS = {"unit": "承办单位", "category": "类别", "channel": "渠道", "district": "区域"}


def shift(month: int, months: int) -> int:
    index = (month // 100) * 12 + month % 100 - 1 + months
    return (index // 12) * 100 + index % 12 + 1


def _month_end(month: int) -> datetime:
    following = shift(month, 1)
    return datetime.combine(datetime(following // 100, following % 100, 1), time(), tzinfo=SHANGHAI)


def monthly_report(officer, filters: dict, now: datetime) -> dict:
    """Everything the monthly report shows for `filters["month"]` (default: this month)."""
    month = filters.get("month") or month_of(now)
    base = {k: v for k, v in filters.items() if k not in ("month", "from_", "to", "group_by")}
    at = min(now, _month_end(month))
    the_month = {**base, "month": month}
    data = {
        "month": f"{month // 100:04d}-{month % 100:02d}",
        "title": f"{month // 100}年{month % 100}月接诉即办考核月报",
        "period": f"{month // 100}年{month % 100}月1日至{(_month_end(month) - timedelta(days=1)).day}日",
        "generated_at": now,
        "summary": services.assess(officer, the_month, at),
        "by": {name: services.grouped(officer, the_month, at, name) for name in DIMENSIONS},
        "trend": services.grouped(officer, {**base, "from_": shift(month, -11), "to": month}, at, "month"),
        "hotspots": [c.as_dict() for c in hotspots.visible_hotspots(officer, base, at)],
    }
    totals = data["summary"]["total"]
    for figure, part, total in (("overdue", "denominator", totals["overdue"]["count"]),
                                ("reopen", "numerator", totals["reopen"]["numerator"])):  # fmt: skip
        page = {**the_month, "figure": figure, "part": part, "page": 1, "per_page": LIST_LIMIT}
        data[figure] = {"items": services.figure_cases(officer, page, at, count=False)[0], "total": total}
    bureaus = get_norm().catalog["bureaus"]
    data["bureaus"] = "、".join(bureaus[b] for b in data["summary"]["bureaus"])
    return data


def dashboard(officer, filters: dict, now: datetime, hotspot_rows: int = 10) -> dict:
    """What the dashboard shows: the month's figures grouped (by unit unless asked otherwise) and
    ranked, the 12-month trend, the top hotspots."""
    month = services.default_months(filters, now)[1]
    group_by = filters.get("group_by") or "unit"
    base = {k: v for k, v in filters.items() if k not in ("month", "from_", "to", "group_by") and v}
    body = services.assess(officer, {**base, "month": month, "group_by": group_by}, now)
    return {
        "body": body, "group_by": group_by, "month": body["to"],
        "trend": services.grouped(officer, {**base, "from_": shift(month, -11), "to": month}, now, "month"),
        "hotspots": [c.as_dict() for c in hotspots.visible_hotspots(officer, base, now)][:hotspot_rows],
    }  # fmt: skip


def filename(data: dict) -> str:
    return f"ecoflow-monthly-{data['month']}.xlsx"


def _percent(figure: dict):
    return figure["rate"]


def figure_row(figures: dict) -> list:
    """One row of the measures, in the columns of FIGURE_HEADER."""
    satisfaction = figures["satisfaction"]
    whistle = figures["whistle"]
    return [
        _percent(figures["response"]), _percent(figures["reply"]), _percent(figures["resolution"]),
        _percent(satisfaction), satisfaction["levels"].get("satisfied", 0),
        satisfaction["levels"].get("basically_satisfied", 0), satisfaction["denominator"],
        _percent(figures["reopen"]), figures["overdue"]["count"], _percent(whistle),
        round(whistle["average_seconds"] / 60, 1) if whistle["average_seconds"] is not None else None,
    ]  # fmt: skip


FIGURE_HEADER = ["响应率", "按时答复率", "解决率", "满意率", "满意", "基本满意", "回访数", "重办率", "超期数",
                 "吹哨报到率", "平均报到用时(分钟)"]  # fmt: skip
# How each column of FIGURE_HEADER is shown: a rate as 66.7%, a count, minutes with one decimal.
FIGURE_STYLES = ["percent", "percent", "percent", "percent", "count", "count", "count", "percent", "count",
                 "percent", "decimal"]  # fmt: skip
CASE_HEADER = ["案件编号", "承办单位", "承办人", "计入时间", "结果"]


def shown(value, style: str) -> str:
    """A cell of the measures as the page shows it, as Excel's format shows it: 66.7%, 3, 12.5."""
    if value is None:
        return "—"
    return {"percent": lambda v: f"{v * 100:.1f}%", "decimal": lambda v: f"{v:.1f}"}.get(style, str)(value)


def shown_row(figures: dict) -> list[str]:
    """One row of the measures as the page shows it."""
    return [shown(v, style) for v, style in zip(figure_row(figures), FIGURE_STYLES, strict=True)]


def score_shown(score) -> float | None:
    """The 综合得分 out of 100 with one decimal, the same on the page and in the workbook."""
    return None if score is None else round(score * 100, 1)


# What the item of a figure's drill-down counts as, by the figure's own rule (a reopening is not 达标).
def outcome(figure: str, item: dict) -> str:
    """The item of `figure` as met or missed by the figure's own rule, in words."""
    if figure == "reopen":
        return "重办" if item["measure"] == "reopen" else "已答复（未重办）"
    if figure == "overdue":
        return "超期"
    if figure == "satisfaction":
        level = get_norm().catalog["satisfaction"].get(item.get("level"), "未回访")
        met = item.get("level") in services.get_rules().satisfied_levels
        return f"{'达标' if met else '未达标'}（{level}）"
    return {True: "达标", False: "未达标", None: "超期未办"}[item["is_ok"]]


def _case_row(figure: str, item: dict) -> list:
    at = item["counted_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return [item["case_no"], item.get("unit_name") or "", item.get("officer_name") or "", at, outcome(figure, item)]


def _head(book: Workbook, data: dict, title: str, header: list, widths: list):
    """A sheet with the report's title and period on top, its header frozen."""
    book.sheet_named(title, widths)
    book.append([f"{data['title']}：{title}"], "title")
    book.append([f"统计期间：{data['period']}　范围：{data['bureaus']}"])
    book.append(header, "header")
    book.freeze()


def workbook(data: dict) -> BytesIO:
    """The report as an .xlsx workbook, one sheet per part, each with the title and period on top,
    the header frozen, the columns wide enough and each number in its format."""
    book = Workbook()
    _head(book, data, "概览", ["指标", "分子", "分母", "比率"], [16, 10, 10, 10])
    for name, label in services.LABELS.items():
        figure = data["summary"]["total"][name]
        if "count" in figure:
            book.append([label, figure["count"]], [None, "count"])
        else:
            book.append([label, figure["numerator"], figure["denominator"], figure["rate"]],
                        [None, "count", "count", "percent"])  # fmt: skip
    book.append()
    book.append(["生成时间", data["generated_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")])
    book.append(["范围", data["bureaus"]])
    widths = [12] * len(FIGURE_HEADER)
    for name, label in DIMENSIONS.items():
        _head(book, data, f"按{label}", ["排名", label, "综合得分", *FIGURE_HEADER], [6, 22, 10, *widths])
        for group in data["by"][name]:
            book.append([group.get("rank"), group["label"], score_shown(group.get("score")),
                         *figure_row(group["figures"])], ["count", None, "decimal", *FIGURE_STYLES])  # fmt: skip
    _head(book, data, "月度趋势", ["月份", *FIGURE_HEADER], [10, *widths])
    for group in data["trend"]:
        book.append([group["label"], *figure_row(group["figures"])], [None, *FIGURE_STYLES])
    _head(book, data, "热点", ["区域", "类别", "本期件数", "上期件数", "增长", "涉及单位", "跨界"],
          [24, 10, 10, 10, 8, 30, 6])  # fmt: skip
    bureaus = get_norm().catalog["bureaus"]
    for c in data["hotspots"]:
        book.append([c["label"], c["category_label"], c["cases"], c["previous"], c["growth"],
                     "、".join(bureaus.get(b, b) for b in c["bureaus"]), "是" if c["crosses_border"] else "否"],
                    [None, None, "count", "count", "count"])  # fmt: skip
    for key, title in (("overdue", "超期案件"), ("reopen", "重办案件")):
        total = data[key]["total"]
        more = f"，列出最近 {LIST_LIMIT} 项（看板可查看全部）" if total > LIST_LIMIT else ""
        _head(book, data, title, CASE_HEADER, [20, 16, 12, 18, 18])
        book.append([f"共 {total} 项{more}"])
        for item in data[key]["items"]:
            book.append(_case_row(key, item))
    return book.close()


def send_workbook(data: dict):
    """The monthly report as an Excel download."""
    return send_file(workbook(data), download_name=filename(data), as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
