"""信访事项 end to end in a real Chromium: a joint letter of 6 people registered as a formal petition,
graded key onto the ledger, its 受理告知书 printed, handled, answered (处理意见书), 复查 asked and
answered (复查意见书)."""

from __future__ import annotations

import re

from .test_browser import act, browser, dispatch, open_as, open_case, register, server, shoot, state  # noqa: F401


def notice(page, title):
    """Open the notice of that title from the case page's 信访文书; returns its text."""
    page.click(f"#documents a:text('{title}')")
    page.wait_for_selector("#document")
    return page.inner_text("#document")


def test_a_joint_letter_of_six_from_intake_to_the_review_answer(server, open_as):  # noqa: F811
    intake = open_as("bj-intake")
    case_no = register(
        intake, shot="20-petition-intake", channel="letter", name="李四", phone="13900001111",
        address="北京市通州区永乐店镇德仁务村", description="村东砖厂夜间排放黑烟，异味刺鼻，村民联名来信反映。",
        petition="y", joint="y", people_count=6,
    )  # fmt: skip
    facts = intake.inner_text("section.card dl.facts")
    assert "信访事项" in facts and "6人" in facts and "联名" in facts
    assert "受理告知" in intake.inner_text("table.clocks")  # the 15 days to decide run from receipt
    act(intake, "accept")
    assert state(intake) == "受理"
    text = notice(intake, "信访事项受理告知书")
    assert re.search(r"京环信告〔\d{4}〕第1号", text) and "李四等6人：" in text and "予以受理" in text
    shoot(intake, "21-acceptance-notice")
    intake.set_viewport_size({"width": 390, "height": 844})
    shoot(intake, "22-acceptance-notice-phone")
    assert intake.evaluate("document.documentElement.scrollWidth") <= 390
    intake.set_viewport_size({"width": 1366, "height": 768})

    dispatcher = open_as("bj-dispatcher")
    dispatcher.goto(server + "/dispatch")
    card = dispatcher.inner_text(f"#dispatch-{case_no}")
    assert "建议分级：重点" in card and "6人集体诉求" in card and "正式信访事项" in card
    dispatch(dispatcher, case_no, grade="key")

    supervisor = open_as("bj-supervisor")
    supervisor.goto(server + "/supervision")
    row = supervisor.locator("#ledger tr", has_text=case_no).inner_text()
    assert "挂账" in row and "bj-leader" in row  # its named 包案 leader: 通州分局's 分管领导
    open_case(supervisor, case_no)
    assert supervisor.inner_text("#ledger-leader") == "bj-leader"

    officer = open_as("bj-officer")
    open_case(officer, case_no)
    act(officer, "sign")
    act(officer, "record_progress", note="现场检查，砖厂已停产。")
    act(officer, "reply", result="已责令停产整改", text="经现场核查，反映问题属实，已责令砖厂停产整改。")
    assert state(officer) == "已答复"
    assert "经现场核查" in notice(officer, "信访事项处理意见书")

    open_case(intake, case_no)
    act(intake, "request_review", reason="对处理意见不服，砖厂仍在夜间生产。")
    assert state(intake) == "复查中"
    assert "复查答复" in intake.inner_text("table.clocks")

    leader = open_as("bj-leader")
    open_case(leader, case_no)
    act(leader, "review_reply", result="撤销原处理意见，责令关停", text="经复查，砖厂仍有夜间生产行为，责令依法关停。")
    assert state(leader) == "办结"
    review = notice(leader, "信访事项复查意见书")
    assert re.search(r"京环信复查〔\d{4}〕第1号", review) and "责令依法关停" in review
    assert "李四" not in review and "李*等6人" in review  # the leader reads the file copy
    shoot(leader, "23-review-notice")
