"""案件查询 in a real headless Chromium: closed cases by their 12345 order number, a caller's cases by
phone for intake, nothing for a masked viewer, an export that opens with the masked values."""

from __future__ import annotations

import csv
import io

import pytest

from .test_browser import CHROMIUM, browser, open_as, server, shoot  # noqa: F401
from .test_search import close

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="BROWSER TESTS SKIPPED")


def search(page, **values):
    page.click("nav >> text=案件查询")
    page.wait_for_selector("#search")
    for name, value in values.items():
        page.fill(f"#search #{name}", value)
    page.click("#search button[type=submit]")
    page.wait_for_selector("#results")


def result_rows(page) -> list[str]:
    return [row.inner_text() for row in page.locator("#results tbody tr").all()]


def test_a_closed_case_is_found_by_its_12345_order_number(api, open_as):  # noqa: F811
    case_no = api.to_handling(external_id="12345-2026-004711", description="河边死鱼很多，水面发黑。")
    close(api, case_no)
    api.register(external_id="12345-2026-004712")
    page = open_as("bj-supervisor")

    search(page, text="12345-2026-004711")

    rows = result_rows(page)
    assert len(rows) == 1 and case_no in rows[0] and "办结" in rows[0]
    assert page.inner_text("#total") == "共 1 件"
    shoot(page, "search-order-number")
    page.click(f"#results a:text('{case_no}')")
    page.wait_for_url(f"**/complaints/{case_no}")


def test_intake_finds_a_callers_cases_by_phone_closed_ones_too(api, open_as):  # noqa: F811
    closed = api.to_handling(complainant={"name": "王五", "phone": "13911112222"})
    close(api, closed)
    open_case = api.register(complainant={"name": "王五", "phone": "139-1111-2222"})["case_no"]
    api.register(complainant={"name": "李四", "phone": "13900000000"})
    page = open_as("bj-intake")

    search(page, phone="139 1111 2222")

    rows = result_rows(page)
    assert {closed, open_case} == {r.split()[0] for r in rows}
    assert any("办结" in r for r in rows)
    shoot(page, "search-by-phone")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "search-by-phone-390")


def test_a_masked_viewer_finds_nothing_by_phone_or_name(api, open_as):  # noqa: F811
    api.to_handling(complainant={"name": "王五", "phone": "13911112222"})
    page = open_as("bj-supervisor")

    for values in ({"phone": "13911112222"}, {"complainant": "王五"}, {"text": "13911112222"}):
        search(page, **values)
        assert page.inner_text("#total") == "共 0 件", values
        assert "没有符合条件的案件" in page.inner_text("#results")
        page.click("a:text('清空条件')")


def test_a_csv_export_opens_with_the_masked_values(api, open_as):  # noqa: F811
    description = "我是王五，电话13911112222，楼下饭店油烟直排，异味很重。"
    case_no = api.register(description=description, complainant={"name": "王五", "phone": "13911112222"})["case_no"]
    page = open_as("bj-supervisor")
    search(page, text="油烟直排")
    assert case_no in page.inner_text("#results")

    with page.expect_download() as download:
        page.click("#export-csv")
    with open(download.value.path(), encoding="utf-8-sig") as file:
        body = file.read()

    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["案件编号", "来源工单号", "渠道"]
    row = rows[1]
    assert row[0] == case_no and (row[8], row[9]) == ("王*", "139****2222")
    assert "油烟直排" in row[7] and "139****2222" in row[7]
    assert "13911112222" not in body and "王五" not in body
