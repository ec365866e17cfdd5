"""月报: the month's measures, rankings, trend, hotspots and the overdue and reopened cases, as data
for the printable page and as an Excel workbook (XlsxWriter)."""

from __future__ import annotations

from datetime import datetime, time
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
CASE_HEADER = ["案件编号", "单位", "承办人", "计入时间", "结果"]


def _case_row(item: dict) -> list:
    at = item["counted_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    outcome = {True: "达标", False: "未达标", None: "超期未办"}[item["is_ok"]]
    return [item["case_no"], item["unit"], item["officer"], at, outcome]


def workbook(data: dict) -> BytesIO:
    """The report as an .xlsx workbook, one sheet per part."""
    book = Workbook()
    book.sheet_named("概览")
    book.append([data["title"]])
    book.append(["范围", data["bureaus"]])
    book.append(["生成时间", data["generated_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")])
    book.append()
    book.append(["指标", "分子", "分母", "比率"])
    for name, label in services.LABELS.items():
        figure = data["summary"]["total"][name]
        if "count" in figure:
            book.append([label, figure["count"]])
        else:
            book.append([label, figure["numerator"], figure["denominator"], figure["rate"]])
    for name, label in DIMENSIONS.items():
        book.sheet_named(f"按{label}")
        book.append(["排名", label, "综合得分", *FIGURE_HEADER])
        for group in data["by"][name]:
            book.append([group.get("rank"), group["label"], group.get("score"), *figure_row(group["figures"])])
    book.sheet_named("月度趋势")
    book.append(["月份", *FIGURE_HEADER])
    for group in data["trend"]:
        book.append([group["key"], *figure_row(group["figures"])])
    book.sheet_named("热点")
    book.append(["区域", "类别", "本期件数", "上期件数", "增长", "涉及单位", "跨界"])
    for c in data["hotspots"]:
        book.append([c["label"], c["category_label"], c["cases"], c["previous"], c["growth"],
                     "、".join(c["bureaus"]), "是" if c["crosses_border"] else "否"])  # fmt: skip
    for key, title in (("overdue", "超期案件"), ("reopen", "重办案件")):
        book.sheet_named(title)
        total = data[key]["total"]
        more = f"，列出最近 {LIST_LIMIT} 项（看板可查看全部）" if total > LIST_LIMIT else ""
        book.append([f"共 {total} 项{more}"])
        book.append(CASE_HEADER)
        for item in data[key]["items"]:
            book.append(_case_row(item))
    return book.close()


def send_workbook(data: dict):
    """The monthly report as an Excel download."""
    return send_file(workbook(data), download_name=filename(data), as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
