"""End to end in a real headless Chromium (Debian's package, driven by Playwright) against the app
served over HTTP on the test database: each role in turn takes cases through the web forms.
With ECOFLOW_SCREENSHOTS set to a folder (`make screenshots`: docs/screenshots/), every page visited is
saved there, so a reader can see the UI without running it; `make test` leaves the tree as it was."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("ECOFLOW_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM} (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def server(live_server, staff):
    """The app on a free port, with the officers to log in as."""
    return live_server


@pytest.fixture
def open_as(browser, server):
    """open_as("bj-intake") → a page logged in as that officer, in a browser context of its own."""
    contexts = []

    def login(username, width=1366, height=768):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        page.goto(server + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_url(server + "/")
        page.server = server
        return page

    yield login
    for context in contexts:
        context.close()


def shoot(page, name):
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def fill(page, scope, **values):
    """Fill the named fields of the form in `scope`, whatever kind of input each is."""
    for name, value in values.items():
        inputs = page.locator(f"{scope} [name$='{name}']")
        kind = inputs.first.evaluate("e => e.tagName === 'INPUT' ? e.type : e.tagName.toLowerCase()")
        if kind == "select":
            inputs.first.select_option(value)
        elif kind in ("radio", "checkbox"):
            wanted = {
                "1" if value is True else "0" if value is False else v
                for v in ([value] if not isinstance(value, list) else value)
            }
            for index in range(inputs.count()):
                box = inputs.nth(index)
                if kind == "checkbox":
                    box.set_checked(box.get_attribute("value") in wanted)
                elif box.get_attribute("value") in wanted:
                    box.check()
        else:
            inputs.first.fill(str(value))


def act(page, action, **values):
    """Take an action through its form on the case page (unfolding it first)."""
    page.locator(f"#action-{action}").evaluate("e => e.open = true")
    fill(page, f"#action-{action}", **values)
    page.click(f"#action-{action} button[type=submit]")
    page.wait_for_load_state()


def state(page) -> str:
    return page.inner_text("h1 .state")


def register(page, shot=None, **values):
    page.goto(page.server + "/complaints/new")
    defaults = {
        "channel": "hotline_12345", "type": "complaint", "name": "张三", "phone": "13812345678",
        "address": "北京市通州区梨园镇云景里小区3号楼", "description": "小区旁边的工厂每天晚上排放废气，异味很重。",
        "at_home": "y",  # the smell is at the complainant's home: that place is their personal data
    }  # fmt: skip
    fill(page, "#intake", **{**defaults, **values})
    if shot:
        shoot(page, shot)
    page.click("#intake button[type=submit]")
    page.wait_for_url(re.compile(r".*/complaints/BJ-"))
    return page.url.rsplit("/", 1)[1]


def dispatch(page, case_no, shot=None, **values):
    page.goto(page.server + "/dispatch")
    scope = f"#dispatch-{case_no}"
    fill(page, scope, **{"unit": "tongzhou", "officer": "bj-officer", **values})
    if shot:
        shoot(page, shot)
    page.click(f"{scope} button[type=submit]")
    page.wait_for_url(page.server + "/dispatch")


def open_case(page, case_no):
    page.goto(f"{page.server}/complaints/{case_no}")


def answer_and_follow_up(officer, intake, case_no, satisfaction):
    """The officer signs and replies; intake follows up, resolved."""
    open_case(officer, case_no)
    act(officer, "sign")
    act(officer, "reply", result="已处置", text="已现场核查处置，问题已解决。")
    open_case(intake, case_no)
    act(intake, "follow_up", resolved=True, satisfaction=satisfaction)


def test_general_case_from_intake_to_closure(server, browser, open_as):
    login_page = browser.new_page(viewport={"width": 1366, "height": 768})
    login_page.goto(server + "/login")
    shoot(login_page, "01-login")
    login_page.close()

    intake = open_as("bj-intake")
    case_no = register(intake, shot="02-intake")
    assert state(intake) == "登记"
    assert "13812345678" in intake.inner_text("#complainant")  # intake sees the complainant
    act(intake, "accept")
    assert "“受理”已完成" in intake.inner_text(".flash") and state(intake) == "受理"

    dispatcher = open_as("bj-dispatcher")
    dispatcher.goto(server + "/dispatch")
    card = dispatcher.inner_text(f"#dispatch-{case_no}")
    assert "建议分级：一般" in card and "废气" in card  # the suggestion and its reasons
    dispatch(dispatcher, case_no, shot="03-dispatch")
    assert case_no not in dispatcher.content()

    officer = open_as("bj-officer")
    row = officer.locator("#workbench tr", has_text=case_no)
    assert "已派单" in row.inner_text() and re.search(r"剩余\d", row.inner_text())  # counting down
    shoot(officer, "04-workbench")
    row.locator("a").click()
    assert "138****5678" not in officer.inner_text("#complainant")  # the responsible officer sees it all
    act(officer, "sign")
    act(officer, "contact", method="电话", note="已电话联系诉求人")
    shoot(officer, "05-case")
    act(officer, "reply", result="已查实并责令整改", text="经现场核查，问题属实，已责令企业整改。")
    assert state(officer) == "已答复"

    open_case(intake, case_no)
    act(intake, "follow_up", resolved=True, satisfaction="satisfied")
    assert state(intake) == "办结"
    timeline = intake.inner_text("#timeline")
    for label in ("受理", "派单", "签收", "首次联系", "答复", "回访"):
        assert label in timeline
    assert intake.locator("#actions form").count() == 0

    supervisor = open_as("bj-supervisor")
    open_case(supervisor, case_no)
    assert "138****5678" in supervisor.inner_text("#complainant")  # masked for those without the need
    assert "梨园镇" not in supervisor.inner_text("#address")

    # The complainant follows the case on the public page: the wrong digits say nothing, the right ones
    # show the state and the answer.
    citizen = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    citizen.goto(server + "/lookup")
    citizen.fill("#number", case_no)
    citizen.fill("#phone_last4", "0000")
    citizen.click("main form button[type=submit]")
    refused = citizen.inner_text("main")
    assert citizen.locator("[role=alert]").count() == 1 and "办理状态" not in refused and "经现场核查" not in refused
    citizen.fill("#number", case_no)
    citizen.fill("#phone_last4", "5678")
    citizen.click("main form button[type=submit]")
    assert citizen.inner_text("#state") == "办结" and "经现场核查" in citizen.inner_text("#reply")
    assert "张三" not in citizen.inner_text("main") and "梨园镇" not in citizen.inner_text("main")
    shoot(citizen, "12-citizen-lookup")
    citizen.close()


def test_urgent_case_runs_on_minutes(server, open_as):
    intake = open_as("bj-intake")
    case_no = register(intake, description="河道里大量死鱼，工厂正在偷排废水。", address="北京市通州区潮白河西岸")
    act(intake, "accept")
    dispatcher = open_as("bj-dispatcher")
    dispatcher.goto(server + "/dispatch")
    assert "建议分级：紧急" in dispatcher.inner_text(f"#dispatch-{case_no}")
    dispatch(dispatcher, case_no)

    officer = open_as("bj-officer")
    row = officer.locator("#workbench tr", has_text=case_no).inner_text()
    assert "紧急" in row and re.search(r"剩余1[0-5]分", row)  # 签收 within 15 minutes
    answer_and_follow_up(officer, intake, case_no, "basically_satisfied")
    assert state(intake) == "办结"


def test_key_case_is_struck_off_the_ledger_by_a_leader(server, open_as):
    intake = open_as("bj-intake")
    case_no = register(
        intake, channel="media", description="媒体报道：搅拌站粉尘污染周边农田。", address="北京市通州区马驹桥镇"
    )
    act(intake, "accept")
    dispatcher = open_as("bj-dispatcher")
    dispatch(dispatcher, case_no, grade="key")
    answer_and_follow_up(open_as("bj-officer"), intake, case_no, "satisfied")
    assert state(intake) == "待销号"

    supervisor = open_as("bj-supervisor")
    open_case(supervisor, case_no)
    act(
        supervisor, "whistle", reason="群众反映强烈，召集属地分局联合核查。", parties=["unit_supervisor", "unit_leader"]
    )
    supervisor.goto(server + "/supervision")
    assert "挂账" in supervisor.locator("#ledger tr", has_text=case_no).inner_text()
    whistle = supervisor.inner_text("#whistles")
    assert case_no in whistle and "单位督办员： 尚未报到" in whistle and "单位分管领导： 尚未报到" in whistle
    shoot(supervisor, "06-supervision")
    leader = open_as("bj-leader")
    open_case(leader, case_no)
    act(leader, "verify_close", note="经复核，整改到位，同意销号。")
    assert state(leader) == "办结"
    supervisor.goto(server + "/supervision")
    assert "已销号" in supervisor.locator("#ledger tr", has_text=case_no).inner_text()
    supervisor.goto(server + "/notifications")
    shoot(supervisor, "07-notifications")

    leader.click("header nav >> text=考核")
    assert "响应率" in leader.inner_text("main") and leader.locator("main svg").count() == 2
    shoot(leader, "11-assessment")


def test_forbidden_action_is_not_offered_and_a_forged_post_is_refused(server, open_as):
    intake = open_as("bj-intake")
    case_no = register(intake)
    act(intake, "accept")
    dispatch(open_as("bj-dispatcher"), case_no)

    other = open_as("bj-officer2")  # an officer of the bureau, not this case's
    open_case(other, case_no)
    assert other.locator("#action-sign").count() == 0
    token = other.get_attribute("input[name=csrf_token]", "value")
    status = other.evaluate(
        """([url, token]) => fetch(url, {method: "POST", body: new URLSearchParams(
               {"csrf_token": token, "sign-version": "3"})}).then(r => r.status)""",
        [f"{server}/complaints/{case_no}/actions/sign", token],
    )
    assert status == 403
    open_case(other, case_no)
    assert state(other) == "已派单"


def test_a_stale_form_says_so_and_keeps_what_was_typed(server, open_as):
    intake = open_as("bj-intake")
    case_no = register(intake)
    act(intake, "accept")
    dispatch(open_as("bj-dispatcher"), case_no)
    officer = open_as("bj-officer")
    open_case(officer, case_no)
    act(officer, "sign")
    second = officer.context.new_page()
    second.server = server
    open_case(second, case_no)  # the same case open twice

    act(officer, "contact", note="电话联系")
    act(second, "record_progress", note="现场检查，已取样。")
    assert "已被他人更新" in second.inner_text("#conflict")
    assert second.input_value("#action-record_progress textarea[name='record_progress-note']") == "现场检查，已取样。"
    assert "首次联系" in second.inner_text("#timeline")  # the current state is shown
    act(second, "record_progress")  # sent again, now on the current version
    assert "“办理记录”已完成" in second.inner_text(".flash")


def test_intake_shows_errors_by_the_field_and_possible_duplicates(server, open_as):
    intake = open_as("bj-intake")
    first = register(intake, external_id="12345-2026-000777")

    intake.goto(server + "/complaints/new")
    fill(intake, "#intake", channel="hotline_12345", type="complaint", phone="abc", description="夜里噪音很大")
    intake.click("#intake button[type=submit]")
    assert "此项为必填项" in intake.inner_text(".field:has(#address)")
    assert "电话号码格式不正确" in intake.inner_text(".field:has(#phone)")
    assert intake.input_value("#description") == "夜里噪音很大"  # what was typed is kept

    fill(intake, "#intake", phone="13812345678", address="北京市通州区梨园镇云景里小区3号楼")
    intake.click("#intake button[type=submit]")
    assert first in intake.inner_text("#duplicates")  # the same place: shown before saving
    assert "同一地址" in intake.inner_text("#duplicates")  # with the reason
    shoot(intake, "08-intake-duplicates")
    intake.click("#intake button[type=submit]")  # register anyway
    intake.wait_for_url(re.compile(r".*/complaints/BJ-"))
    assert intake.url.rsplit("/", 1)[1] != first
    assert first in intake.inner_text("#history")  # the same person, earlier


def test_pages_fit_a_narrow_screen(server, open_as):
    intake = open_as("bj-intake")
    case_no = register(intake)
    act(intake, "accept")
    supervisor = open_as("bj-supervisor", width=390, height=844)
    supervisor.reload()
    assert case_no in supervisor.inner_text("#workbench")
    for path in ("/", f"/complaints/{case_no}", "/supervision"):
        supervisor.goto(server + path)
        assert supervisor.evaluate("document.documentElement.scrollWidth") <= 390, path  # no sideways scrolling
    supervisor.goto(server + "/")
    shoot(supervisor, "09-workbench-narrow")


def test_an_officer_transfers_a_case_to_another_bureau(server, open_as):
    intake = open_as("bj-intake")
    case_no = register(intake, address="河北省廊坊市三河市燕郊镇化工园")
    act(intake, "accept")
    dispatch(open_as("bj-dispatcher"), case_no)
    officer = open_as("bj-officer")
    open_case(officer, case_no)
    act(officer, "sign")
    act(
        officer,
        "transfer",
        to_bureau="HE",
        reason="污染源位于三河市燕郊镇，属河北管辖。",
        suspected_source="燕郊镇化工园",
    )
    assert state(officer) == "已移送"
    officer.goto(server + "/transfers")
    row = officer.locator("#sent tr", has_text=case_no).inner_text()
    assert "河北省生态环境厅" in row and "待发送" in row
    shoot(officer, "10-transfers")
