"""The citizen finds the case in a real headless Chromium by the order number the 12345 centre gave
them, typed as people type it (lower case, spaces around), on a phone and on a desktop screen."""

from __future__ import annotations

import pytest

from .test_browser import CHROMIUM, pytestmark, shoot  # noqa: F401 (pytestmark: skipped without Chromium)

ORDER = {
    "order_no": "BJ12345-20261122-000123", "received_at": "2026-11-22T09:30:00+08:00", "type": "投诉",
    "content": "小区旁工厂每晚排放废气，异味刺鼻。", "caller": {"name": "张三", "phone": "13812345678"},
    "address": "北京市通州区梨园镇云景里小区",
}  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768)])
def test_the_citizen_finds_the_case_by_the_centres_order_number(chromium, live_server, client, channel_key, width,
                                                                 height):  # fmt: skip
    key = channel_key("北京12345热线", "hotline_12345")
    answer = client.post("/api/v1/intake/orders", json={"orders": [ORDER]}, headers={"Authorization": f"Bearer {key}"})
    case_no = answer.json["results"][0]["case_no"]

    page = chromium.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    page.goto(live_server + "/lookup")
    assert "受理编号或热线工单编号" in page.inner_text("main")
    page.fill("#number", "  bj12345-20261122-000123 ")
    page.fill("#phone_last4", "0000")
    page.click("main form button[type=submit]")
    assert page.locator("[role=alert]").count() == 1 and "办理状态" not in page.inner_text("main")
    page.fill("#phone_last4", "5678")
    page.click("main form button[type=submit]")
    assert page.inner_text("#state") == "登记" and case_no in page.inner_text("main")
    assert "张三" not in page.inner_text("main") and "梨园镇" not in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off the screen
    shoot(page, f"12b-citizen-lookup-by-order-{width}")
    page.close()
