"""月报: the monthly report as an Excel workbook, from the API (the dashboard's download) and the CLI."""

from datetime import timedelta
from io import BytesIO

import time_machine
from openpyxl import load_workbook

from .conftest import shanghai

START = shanghai(2026, 11, 2, 9)
SHEETS = ["概览", "按承办单位", "按类别", "按渠道", "按区域", "月度趋势", "热点", "超期案件", "重办案件"]


def month_of_cases(api):
    """Three November cases: one contacted and closed after a reopening, one never contacted, one in chaoyang."""
    with time_machine.travel(START, tick=False):
        done = api.to_handling()
        never = api.to_handling(categories=["noise"])
        api.to_handling(officer="bj-officer2", unit="chaoyang")
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(done, "reply", "bj-officer", result="已整改", text="已处理")
        api.ok(done, "follow_up", "bj-intake", resolved=False, satisfaction="unsatisfied")
        api.ok(done, "reply", "bj-officer", result="再次整改", text="已处理")
        api.ok(done, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    return done, never


def rows(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_monthly_workbook_holds_the_figures_the_api_gives(api):
    done, never = month_of_cases(api)
    with time_machine.travel(START + timedelta(days=10), tick=False):
        figures = api.get("/api/v1/assessment", "bj-leader", query_string={"month": "2026-11"}).json["total"]
        response = api.get("/api/v1/assessment/report.xlsx", "bj-leader", query_string={"month": "2026-11"})
    assert response.status_code == 200
    assert "ecoflow-monthly-2026-11.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(BytesIO(response.data))
    assert book.sheetnames == SHEETS

    overview = {row[0]: row[1:] for row in rows(book["概览"])[3:] if row and row[0]}
    assert overview["响应率"] == [figures["response"]["numerator"], figures["response"]["denominator"],
                               figures["response"]["rate"]]  # fmt: skip
    assert overview["响应率"] == [1, 3, 0.3333]  # only `done` made contact (by its reply) in 24 hours
    assert overview["满意率"] == [1, 2, 0.5]
    assert overview["重办率"] == [1, 2, 0.5]
    assert "北京市生态环境局" in overview["范围"][0]

    # Every sheet: the title and the period on top, the header frozen under them.
    for name in SHEETS:
        sheet = book[name]
        assert rows(sheet)[0][0].startswith("2026年11月接诉即办考核月报") and "2026年11月1日至30日" in rows(sheet)[1][0]
        assert sheet.freeze_panes == "A4", name
    units = rows(book["按承办单位"])
    assert units[2][:3] == ["排名", "承办单位", "综合得分"]
    # 通州: response 1/2, resolution 1/2, satisfaction 1/2 → 50.0, as the page shows it; 朝阳: response 0/1 → 0.
    assert [row[:3] for row in units[3:]] == [[1, "通州分局", 50], [2, "朝阳分局", 0]]
    sheet = book["按承办单位"]
    assert sheet["C4"].number_format == "0.0" and sheet["D4"].number_format == "0.0%"  # 综合得分, 响应率
    assert sheet.column_dimensions["B"].width >= 20
    assert [row[0] for row in rows(book["月度趋势"])[3:]] == ["2026年11月"]
    overdue = {row[0] for row in rows(book["超期案件"])[4:]}
    assert never in overdue and done not in overdue
    reopened = rows(book["重办案件"])[4:]
    assert [row[0] for row in reopened] == [done]
    assert reopened[0][1:3] == ["通州分局", "bj-officer"] and reopened[0][4] == "重办"  # names; never 达标


def test_the_cli_writes_the_monthly_workbook(api, runner, tmp_path):
    month_of_cases(api)
    target = tmp_path / "report.xlsx"
    result = runner.invoke(args=["ecoflow", "assessment", "report", "--month", "2026-11", "--bureau", "BJ",
                                 "--as", "bj-leader", "-o", str(target)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_workbook(target).sheetnames == SHEETS
    unknown = runner.invoke(args=["ecoflow", "assessment", "report", "--month", "2026-11", "--as", "nobody"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    bad_month = runner.invoke(args=["ecoflow", "assessment", "report", "--month", "2026-13", "--as", "bj-leader"])
    assert bad_month.exit_code != 0
