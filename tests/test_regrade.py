"""改级 after assignment (issue 17): a dispatcher or supervisor raises or lowers the grade with a reason;
the running clocks are re-timed as the new grade says, a case raised to key goes onto the ledger,
and only a supervisor takes one off it. Tests travel in time."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine

from .conftest import shanghai

RECEIVED = shanghai(2026, 9, 30, 10)


def clock(complaint, kind):
    return next(c for c in complaint["clocks"] if c["kind"] == kind and c["stopped_at"] is None)


def due(complaint, kind):
    return datetime.fromisoformat(clock(complaint, kind)["due_at"])


def assigned(api, grade="general"):
    with time_machine.travel(RECEIVED + timedelta(minutes=5), tick=False):
        case_no = api.register(received_at=RECEIVED.isoformat())["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade=grade,
               categories=["air"])  # fmt: skip
    return case_no


def ledger(api, as_="bj-supervisor"):
    return {row["case_no"] for row in api.get("/api/v1/supervision/ledger", as_).json}


def test_raised_to_key_in_handling_retimes_the_reply_clock_and_goes_onto_the_ledger(api):
    case_no = assigned(api)
    with time_machine.travel(RECEIVED + timedelta(hours=1), tick=False):
        api.ok(case_no, "sign", "bj-officer")
        assert due(api.complaint(case_no), "reply") == shanghai(2026, 10, 7, 10)  # 7 natural days
        assert case_no not in ledger(api)

        complaint = api.ok(case_no, "regrade", "bj-dispatcher", grade="key", reason="媒体已关注，周边学校学生头晕")

    assert complaint["grade"] == "key" and complaint["state"] == "handling"
    # 15 working days from receipt, across 国庆 (see test_clocks.py).
    assert due(complaint, "reply") == shanghai(2026, 10, 27, 10)
    assert complaint["on_ledger"] is True
    assert case_no in ledger(api)
    event = api.events(case_no)[-1]
    assert event["action"] == "regrade"
    assert event["data"]["from_grade"] == "general" and event["data"]["ledger"] == "added"
    assert event["data"]["reason"] == "媒体已关注，周边学校学生头晕"


def test_raised_to_urgent_while_assigned_retimes_the_sign_clock_from_assignment(api):
    case_no = assigned(api)
    assert due(api.complaint(case_no), "sign") == RECEIVED + timedelta(minutes=5, hours=2)

    with time_machine.travel(RECEIVED + timedelta(minutes=10), tick=False):
        complaint = api.ok(case_no, "regrade", "bj-supervisor", grade="urgent", reason="现场正在偷排")

    assert due(complaint, "sign") == RECEIVED + timedelta(minutes=5 + 15)
    assert due(complaint, "first_contact") == RECEIVED + timedelta(minutes=30)
    assert due(complaint, "reply") == RECEIVED + timedelta(hours=24)
    assert complaint["on_ledger"] is False


def test_only_a_supervisor_lowers_a_key_case_off_the_ledger(api):
    case_no = assigned(api, grade="key")
    before = api.complaint(case_no)
    assert case_no in ledger(api)

    with time_machine.travel(RECEIVED + timedelta(hours=1), tick=False):
        refused = api.act(case_no, "regrade", "bj-dispatcher", grade="general", reason="经核实为一般诉求")
        assert refused.status_code == 403 and refused.json["error"] == "role_not_allowed"
        assert "督办员" in refused.json["message"]
        assert api.complaint(case_no)["version"] == before["version"]
        assert case_no in ledger(api)

        complaint = api.ok(case_no, "regrade", "bj-supervisor", grade="general", reason="经核实为一般诉求")

    assert complaint["grade"] == "general" and complaint["on_ledger"] is False
    assert due(complaint, "reply") == shanghai(2026, 10, 7, 10)
    assert case_no not in ledger(api)
    record = api.events(case_no)[-1]["data"]
    assert record["ledger"] == "removed" and record["reason"] == "经核实为一般诉求"


def test_regrade_needs_a_reason_a_new_grade_and_the_role(api):
    case_no = assigned(api)
    version = api.complaint(case_no)["version"]

    no_reason = api.act(case_no, "regrade", "bj-dispatcher", grade="key")
    assert no_reason.status_code == 422 and "reason" in no_reason.json["details"]["fields"]
    same = api.act(case_no, "regrade", "bj-dispatcher", grade="general", reason="重新评估")
    assert same.status_code == 422 and "grade" in same.json["details"]["fields"]
    officer = api.act(case_no, "regrade", "bj-officer", grade="key", reason="重新评估")
    assert officer.status_code == 403

    assert api.complaint(case_no)["version"] == version


def test_regrade_is_not_offered_before_assignment_nor_after_the_reply(api):
    case_no = api.register()["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    assert "regrade" not in api.complaint(case_no, as_="bj-dispatcher")["allowed_actions"]
    refused = api.act(case_no, "regrade", "bj-dispatcher", grade="key", reason="重新评估")
    assert refused.status_code == 409


# --- the grading suggestion reads what the text says (workflows/grading.yaml, rules) ----------


@pytest.mark.parametrize(
    "description, found",
    [
        ("多次反映未解决，媒体已关注，周边学校学生头晕", ["多次反映", "媒体", "学校"]),
        ("工厂噪声扰民，已反映3次，一直没人管。", ["已反映3次"]),
        ("这是我第四次打电话投诉这家烧烤店油烟。", ["第四次"]),
        ("楼下5户居民都闻到刺鼻气味。", ["5户"]),
        ("多名居民反映河水发臭。", ["多名居民"]),
        ("幼儿园旁边工地扬尘很大，孩子们咳嗽。", ["幼儿园"]),
        ("附近医院门口垃圾堆积。", ["医院"]),
    ],
)
def test_the_text_suggests_key_with_the_words_found(api, description, found):
    suggestion = api.register(description=description)["suggestion"]

    assert suggestion["grade"] == "key"
    reasons = "\n".join(suggestion["reasons"])
    for words in found:
        assert words in reasons
    assert "→ 重点" in reasons


@pytest.mark.parametrize(
    "description",
    [
        "小区旁边的工厂每天晚上排放废气，异味很重。",
        "第二次来电，夜间施工噪声。",  # the second time is not yet the third
        "施工已持续十多天，噪声很大。",  # a count of days, not of people
        "工地有3个人晚上作业，噪声扰民。",
    ],
)
def test_ordinary_text_stays_general(api, description):
    assert api.register(description=description)["suggestion"]["grade"] == "general"


def test_an_urgent_word_outweighs_the_key_rules(api):
    suggestion = api.register(description="河里大量死鱼，多名村民反映，媒体已关注。")["suggestion"]
    assert suggestion["grade"] == "urgent"
    assert any("多名村民" in r for r in suggestion["reasons"])


def test_dispatch_preselects_the_unit_the_address_routes_to(app, api):
    from .test_web import ThreadedClient, log_in

    case_no = api.register()["case_no"]  # 北京市通州区…: routed to 通州分局
    api.ok(case_no, "accept", "bj-intake")
    client = ThreadedClient(app.test_client())
    assert log_in(client, "bj-dispatcher").status_code == 302

    page = client.get("/dispatch").text

    card = page[page.index(f'id="dispatch-{case_no}"') :]
    unit_select = card[card.index('name="assign-unit"') : card.index("</select>")]
    assert re.search(r'<option selected value="tongzhou">', unit_select), unit_select


def test_a_key_case_raised_to_urgent_stays_on_the_ledger(api):
    case_no = assigned(api, grade="key")
    complaint = api.ok(case_no, "regrade", "bj-dispatcher", grade="urgent", reason="现场正在偷排")
    assert complaint["grade"] == "urgent" and complaint["on_ledger"] is True
    assert case_no in ledger(api)
