"""接访 in a real Chromium: a supervisor publishes a leader's reception day, the leader records a visitor
at it and registers a new visit case from them in the same step, and the day lists them."""

from __future__ import annotations

from datetime import timedelta

from ecoflow.timeutil import SHANGHAI, utcnow

from .test_browser import browser, open_as, server, shoot  # noqa: F401


def test_a_reception_day_is_published_and_a_visitor_registers_a_visit_case(server, open_as):  # noqa: F811
    start = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    supervisor = open_as("bj-supervisor")
    supervisor.goto(server + "/receptions")
    supervisor.fill("#leader_name", "李华")
    supervisor.fill("#leader_title", "副局长")
    supervisor.fill("#starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    supervisor.fill("#ends_at", (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    supervisor.fill("#place", "市生态环境局一楼接待室")
    supervisor.click("#publish-reception button[type=submit]")
    assert "接访日已发布" in supervisor.inner_text("body")
    day = supervisor.inner_text("#reception-days")
    assert "副局长 李华" in day and "市生态环境局一楼接待室" in day and start.strftime("%H:%M") in day

    leader = open_as("bj-leader")
    leader.goto(server + "/receptions")
    leader.click("article.reception summary")
    form = leader.locator("article.reception form.visitor-form")
    form.locator("[name=name]").fill("王建国")
    form.locator("[name=phone]").fill("13911112222")
    form.locator("[name=subject]").fill("养殖场污水直排")
    form.locator("[name=answer]").fill("当场答复：三日内派员核查。")
    form.locator("[name=address]").fill("北京市通州区永乐店镇柴厂屯村")
    form.locator("[name=description]").fill("村口的养殖场污水直排河道，夏天臭味很大。")
    form.locator("button[type=submit]").click()
    assert "来访人已登记" in leader.inner_text("body")
    row = leader.inner_text("table.visitors")
    assert "养殖场污水直排" in row and "新登记" in row and "王建国" not in row  # a leader sees them masked
    case_no = leader.locator("table.visitors a").inner_text()
    leader.click("table.visitors a")
    assert case_no in leader.inner_text("body") and "来访" in leader.inner_text("body")

    supervisor.goto(server + "/receptions")
    shoot(supervisor, "40-receptions")
    supervisor.set_viewport_size({"width": 390, "height": 844})
    shoot(supervisor, "41-receptions-phone")
    assert supervisor.evaluate("document.documentElement.scrollWidth") <= 390
