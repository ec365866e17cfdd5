"""满意度评价 in a real headless Chromium on a phone-sized screen: the complainant opens the link of
the 答复 SMS, answers, and the link says plainly that it was used; an expired one says so too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from .test_browser import CHROMIUM, pytestmark, shoot  # noqa: F401 (pytestmark: skipped without Chromium)
from .test_complainant_notices import START, gateway  # noqa: F401 (a fixture)
from .test_survey import replied


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def public(app, gateway, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://sthjj.beijing.gov.cn")
    return gateway


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768)])
def test_the_complainant_answers_on_the_phone_once(chromium, live_server, api, public, width, height):
    now = START + timedelta(hours=1)
    case_no, link = replied(api, public, at=now - timedelta(hours=1))
    page = chromium.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    with time_machine.travel(now, tick=False):
        page.goto(live_server + link)
        main = page.inner_text("main")
        assert case_no in main and "经现场检查，该厂已停产整改。" in main
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off the screen
        shoot(page, f"13-survey-{width}")
        page.click("main form button[type=submit]")  # nothing chosen yet
        assert "请选择问题是否解决" in page.inner_text("main")
        page.check("input[name=resolved][value=yes]")
        page.check("input[name=satisfaction][value=satisfied]")
        page.fill("#note", "处理及时，谢谢。")
        page.click("main form button[type=submit]")
        assert "感谢您的评价" in page.inner_text("#thanks")
        assert api.complaint(case_no)["state"] == "closed"
        page.goto(live_server + link)
        assert "只能使用一次" in page.inner_text("#closed")
        assert page.locator("main form").count() == 0
        shoot(page, f"13-survey-used-{width}")
    with time_machine.travel(START + timedelta(days=8), tick=False):
        _, other = replied(api, public, at=START + timedelta(days=8) - timedelta(days=7, hours=1))
        page.goto(live_server + other)
        assert "已过期" in page.inner_text("#closed")
    page.close()
