"""An officer's day in a real browser (issue 17): a 退单 arrives with its badge and notice, an assigned
case re-graded to key shows on the ledger, the case page on a phone puts the next action above the
fold, and no page scrolls sideways at 390 px."""

from __future__ import annotations

import re

from .test_browser import act, browser, dispatch, open_as, open_case, pytestmark, register, server, shoot  # noqa: F401  (fixtures, the skip)

PHONE = {"width": 390, "height": 844}


def assigned_case(open_as, **values) -> str:  # noqa: F811
    intake = open_as("bj-intake")
    case_no = register(intake, **values)
    act(intake, "accept")
    dispatch(open_as("bj-dispatcher"), case_no)
    return case_no


def test_a_return_arrives_with_its_badge_and_notice(server, open_as):  # noqa: F811
    case_no = assigned_case(open_as)
    officer = open_as("bj-officer")
    open_case(officer, case_no)
    act(officer, "return", reason="污染源位于朝阳区，不属本单位")

    dispatcher = open_as("bj-dispatcher")
    dispatcher.goto(server + "/dispatch")
    card = dispatcher.locator(f"#dispatch-{case_no}")
    assert card.locator(".tag.returned").inner_text() == "退单"
    assert "污染源位于朝阳区" in card.inner_text() and "通州分局" in card.inner_text()
    assert int(dispatcher.inner_text("#unread")) >= 1  # the header's count
    dispatcher.goto(server + "/notifications")
    notice = dispatcher.locator("#inbox li.unread", has_text=case_no)
    assert "退单" in notice.inner_text() and "污染源位于朝阳区" in notice.inner_text()
    shoot(dispatcher, "13-return-notice")
    dispatcher.click("#mark-by-kind button:has-text('退单')")
    assert dispatcher.locator("#inbox li.unread", has_text=case_no).count() == 0


def test_an_assigned_case_regraded_to_key_is_on_the_ledger(server, open_as):  # noqa: F811
    case_no = assigned_case(open_as)
    supervisor = open_as("bj-supervisor")
    open_case(supervisor, case_no)
    act(supervisor, "regrade", grade="key", reason="媒体已关注，周边学校学生头晕")
    assert "“改级”已完成" in supervisor.inner_text(".flash")
    assert "重点" in supervisor.inner_text("h1") and "挂账" in supervisor.inner_text("#complaint")
    assert "原分级：一般" in supervisor.inner_text("#timeline")

    supervisor.goto(server + "/supervision")
    assert "挂账" in supervisor.locator("#ledger tr", has_text=case_no).inner_text()
    officer = open_as("bj-officer")
    officer.goto(server + "/notifications")
    assert "改为重点" in officer.locator("#inbox li", has_text=case_no).first.inner_text()


def test_on_a_phone_the_case_page_puts_the_next_action_above_the_fold(server, open_as):  # noqa: F811
    case_no = assigned_case(open_as, description="河道里大量死鱼，工厂正在偷排废水。")
    officer = open_as("bj-officer", **PHONE)
    open_case(officer, case_no)

    sign = officer.locator("#action-sign")
    box = sign.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    deadline = officer.locator("#next-deadline").bounding_box()
    assert deadline["y"] + deadline["height"] <= PHONE["height"], deadline
    assert officer.locator("#timeline-card").evaluate("e => e.open") is False  # the history folded
    header = officer.locator("header.top").bounding_box()
    assert header["height"] <= 0.15 * PHONE["height"], header
    assert officer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(officer, "14-case-phone")
    act(officer, "sign")
    assert officer.inner_text("h1 .state") == "办理中"


def test_no_page_scrolls_sideways_on_a_phone(server, open_as):  # noqa: F811
    case_no = assigned_case(open_as)
    for username in ("bj-intake", "bj-dispatcher", "bj-officer", "bj-supervisor", "bj-leader", "bj-admin"):
        page = open_as(username, **PHONE)
        links = page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))")
        for path in [*links, f"/complaints/{case_no}"]:
            page.goto(server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (username, path, width)


def test_the_report_shows_percentages_with_one_decimal_and_names(server, open_as):  # noqa: F811
    case_no = assigned_case(open_as)
    officer = open_as("bj-officer")
    open_case(officer, case_no)
    act(officer, "sign")
    act(officer, "reply", result="已处置", text="已现场核查处置。")
    intake = open_as("bj-intake")
    open_case(intake, case_no)
    act(intake, "follow_up", resolved=True, satisfaction="basically_satisfied")
    second = assigned_case(open_as, address="北京市通州区宋庄镇小堡村", description="夜间施工噪声扰民。")

    leader = open_as("bj-leader")
    leader.goto(server + "/assessment/report")
    text = leader.inner_text("main")
    assert re.search(r"满意率\s+1\s+1\s+100\.0%", text), text[:400]
    units = leader.locator("table", has=leader.locator("th", has_text="承办单位")).first.inner_text()
    assert "通州分局" in units and "tongzhou" not in units
    percentages = re.findall(r"\d+(?:\.\d+)?%", text)
    assert percentages and all(re.fullmatch(r"\d+\.\d%", p) for p in percentages), percentages
    assert not re.search(r"(?<![\d.])0\.\d{2,}|(?<![\d.])1\.0(?![\d%])", text)  # no bare fractions
    assert "统计期间" in text and second
    shoot(leader, "15-report")


def test_a_case_prints_without_navigation_or_forms(server, open_as):  # noqa: F811
    case_no = assigned_case(open_as)
    supervisor = open_as("bj-supervisor")
    open_case(supervisor, case_no)
    supervisor.emulate_media(media="print")
    assert not supervisor.locator("header.top").is_visible()
    assert not supervisor.locator("#actions").is_visible()
    assert supervisor.locator("#complaint").is_visible() and supervisor.locator("#deadlines").is_visible()
    shoot(supervisor, "16-case-print")
