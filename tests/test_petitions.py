"""信访事项: a formal petition's clocks (workflows/petition.yaml, 《信访工作条例》), its one extension,
复查 and 复核. Tests travel in time; a clock of N days is due at the end of the Nth day, Beijing time."""

from datetime import timedelta

import time_machine

from .conftest import shanghai
from .test_clocks import due, status
from .test_web import web  # noqa: F401 (a fixture)

LETTER = {
    "channel": "letter",
    "type": "complaint",
    "description": "联名反映村东砖厂夜间排放黑烟，异味刺鼻，多次反映未解决。",
    "complainant": {"name": "李四", "phone": "13900001111", "callback_consent": True, "notify": False},
    "location": {"address": "北京市通州区永乐店镇德仁务村"},
    "petition": True,
    "people_count": 6,
    "joint": True,
}
ASSIGN = {"unit": "tongzhou", "officer": "bj-officer", "categories": ["air"]}


def petition_to_handling(api, received, accepted):
    with time_machine.travel(received, tick=False):
        registered = api.register(**LETTER, received_at=received.isoformat())
    case_no = registered["case_no"]
    with time_machine.travel(accepted, tick=False):
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "assign", "bj-dispatcher", grade="key", **ASSIGN)
        handling = api.ok(case_no, "sign", "bj-officer")
    return registered, handling


def test_a_joint_petition_of_six_is_registered_as_such_and_suggested_key(api):
    with time_machine.travel(shanghai(2026, 9, 28, 10), tick=False):
        case = api.register(**LETTER)
    assert case["petition"] is True and case["people_count"] == 6 and case["joint"] is True
    assert case["suggestion"]["grade"] == "key"
    assert any("6人集体诉求" in r for r in case["suggestion"]["reasons"])
    assert any("正式信访事项" in r for r in case["suggestion"]["reasons"])


def test_the_decision_is_due_at_the_end_of_the_fifteenth_day_and_closure_sixty_days_from_acceptance(api):
    registered, handling = petition_to_handling(api, shanghai(2026, 9, 28, 10), shanghai(2026, 10, 10, 16))

    assert due(registered, "petition_decision") == shanghai(2026, 10, 14)  # the end of 13 October
    assert status(handling, "petition_decision") == "met"
    assert due(handling, "petition_close") == shanghai(2026, 12, 10)  # the end of 9 December
    # The petition's closing clock takes the place of the grade's reply clock.
    assert not [c for c in handling["clocks"] if c["kind"] == "reply"]
    assert handling["on_ledger"] is True


def test_one_extension_of_thirty_days_by_the_leader_and_a_second_refused_saying_why(api, make_officer):
    make_officer("bj-leader-tz", ["leader"], unit="tongzhou", role_unit="tongzhou")
    _, handling = petition_to_handling(api, shanghai(2026, 9, 28, 10), shanghai(2026, 10, 10, 16))
    case_no = handling["case_no"]
    with time_machine.travel(shanghai(2026, 12, 1, 9), tick=False):
        too_long = api.act(case_no, "request_extension", "bj-officer", days=31, reason="需第三方检测")
        assert too_long.status_code == 422
        assert "最多 30 日" in too_long.json["details"]["fields"]["days"][0]
        api.ok(case_no, "request_extension", "bj-officer", days=30, reason="需第三方检测")
        by_supervisor = api.act(case_no, "approve_extension", "bj-supervisor", approved=True)
        assert by_supervisor.status_code == 403
        assert "分管领导" in by_supervisor.json["message"]
        by_units_leader = api.act(case_no, "approve_extension", "bj-leader-tz", approved=True)
        assert by_units_leader.status_code == 403 and by_units_leader.json["error"] == "bureau_leader_only"
        assert "approve_extension" not in api.complaint(case_no, as_="bj-leader-tz")["allowed_actions"]
        extended = api.ok(case_no, "approve_extension", "bj-leader", approved=True, note="同意延期")
        assert due(extended, "petition_close") == shanghai(2027, 1, 9)  # the end of 8 January

        second = api.act(case_no, "request_extension", "bj-officer", days=5, reason="仍需检测")
        assert second.status_code == 409
        assert second.json["error"] == "extension_limit"
        assert "只能延长1次" in second.json["message"] and "2027-01-09 00:00" in second.json["message"]
        assert "request_extension" not in api.complaint(case_no, as_="bj-officer")["allowed_actions"]


def answered(api, accepted_at, replied_at):
    _, handling = petition_to_handling(api, accepted_at - timedelta(days=2), accepted_at)
    case_no = handling["case_no"]
    with time_machine.travel(replied_at, tick=False):
        replied = api.ok(
            case_no, "reply", "bj-officer", result="已责令砖厂停产整改", text="经查，反映问题属实，已责令停产整改。"
        )
    return case_no, replied


def test_a_review_asked_thirty_one_days_after_the_answer_is_refused(api):
    case_no, replied = answered(api, shanghai(2026, 10, 10, 16), shanghai(2026, 11, 2, 15))
    assert status(replied, "petition_close") == "met"

    with time_machine.travel(shanghai(2026, 12, 3, 9), tick=False):  # 31 days after 2 November
        late = api.act(case_no, "request_review", "bj-intake", reason="对处理意见不服")
        assert late.status_code == 409
        assert late.json["error"] == "request_too_late"
        assert "30日内" in late.json["message"] and "2026年12月02日" in late.json["message"]
        assert "request_review" not in api.complaint(case_no, as_="bj-intake")["allowed_actions"]


def test_the_review_is_answered_within_thirty_days_of_the_request_and_the_recheck_is_final(api):
    case_no, _ = answered(api, shanghai(2026, 10, 10, 16), shanghai(2026, 11, 2, 15))
    with time_machine.travel(shanghai(2026, 11, 5, 9), tick=False):
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="basically_satisfied")
        api.ok(case_no, "verify_close", "bj-leader", note="核实办结")
    with time_machine.travel(shanghai(2026, 12, 2, 11), tick=False):  # the 30th day after the answer
        assert api.act(case_no, "request_recheck", "bj-intake", reason="不服").json["error"] == "review_first"
        reviewing = api.ok(case_no, "request_review", "bj-intake", reason="对处理意见不服")
    assert reviewing["state"] == "reviewing"
    assert due(reviewing, "petition_review") == shanghai(2027, 1, 2)  # the end of 1 January
    by_officer = api.act(case_no, "review_reply", "bj-officer", result="维持", text="维持原处理意见。")
    assert by_officer.status_code == 403

    with time_machine.travel(shanghai(2026, 12, 20, 10), tick=False):
        reviewed = api.ok(case_no, "review_reply", "bj-leader", result="维持", text="经复查，维持原处理意见。")
        assert reviewed["state"] == "closed" and status(reviewed, "petition_review") == "met"
        again = api.act(case_no, "request_review", "bj-intake", reason="再次申请")
        assert again.status_code == 409 and again.json["error"] == "already_requested"
        rechecking = api.ok(case_no, "request_recheck", "bj-intake", reason="对复查意见不服")
    assert rechecking["state"] == "rechecking"
    assert due(rechecking, "petition_recheck") == shanghai(2027, 1, 20)
    with time_machine.travel(shanghai(2026, 12, 28, 10), tick=False):
        final = api.ok(case_no, "recheck_reply", "bj-leader", result="维持", text="经复核，维持复查意见。")
        assert final["state"] == "closed"
        refused = api.act(case_no, "request_recheck", "bj-intake", reason="再次申请")
        assert refused.status_code == 409 and "最终意见" in refused.json["message"]


def test_a_case_that_is_no_petition_keeps_its_reply_clock_and_has_no_review(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        replied = api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
        assert status(replied, "reply") == "met"
        refused = api.act(case_no, "request_review", "bj-intake", reason="不服")
        assert refused.status_code == 409 and refused.json["error"] == "not_a_petition"


def test_the_petition_clocks_are_due_on_the_supervision_board_when_late(api):
    with time_machine.travel(shanghai(2026, 9, 28, 10), tick=False):
        case_no = api.register(**LETTER)["case_no"]
    with time_machine.travel(shanghai(2026, 10, 14, 0, 1), tick=False):
        case = api.complaint(case_no)
        assert status(case, "petition_decision") == "overdue"


# --- 信访文书: the written notices ------------------------------------------------------------


def documents(api, case_no, as_="bj-supervisor"):
    response = api.get(f"/api/v1/complaints/{case_no}/documents", as_)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_each_decision_issues_its_numbered_notice_on_the_record(api):
    with time_machine.travel(shanghai(2026, 10, 9, 10), tick=False):
        first = api.register(**LETTER)["case_no"]
        second = api.register(**LETTER)["case_no"]
        api.ok(first, "accept", "bj-intake")
        api.ok(second, "reject", "bj-intake", reason="该事项已经进入诉讼程序", referred_to="通州区人民法院")
    with time_machine.travel(shanghai(2026, 10, 10, 10), tick=False):
        third = api.register(**LETTER)["case_no"]
        api.ok(third, "accept", "bj-intake")
        plain = api.to_handling()  # no petition: no notice

    (acceptance,) = documents(api, first)
    assert acceptance["title"] == "信访事项受理告知书" and acceptance["number"] == "京环信告〔2026〕第1号"
    assert documents(api, third)[0]["number"] == "京环信告〔2026〕第2号"
    (rejection,) = documents(api, second)
    assert rejection["number"] == "京环信不受〔2026〕第1号"
    assert documents(api, plain) == []
    accept_event = next(e for e in api.events(first) if e["action"] == "accept")
    assert accept_event["data"]["documents"] == ["京环信告〔2026〕第1号"]
    assert accept_event["seq"] == acceptance["event_seq"]


def test_a_rejection_says_why_and_where_to_go_instead(api, web):  # noqa: F811
    with time_machine.travel(shanghai(2026, 10, 9, 10), tick=False):
        case_no = api.register(**LETTER)["case_no"]
        api.ok(case_no, "reject", "bj-intake", reason="该事项已经进入诉讼程序", referred_to="通州区人民法院")
    (rejection,) = documents(api, case_no)
    page = _page(web, "bj-intake", rejection["url"])
    assert "信访事项不予受理告知书" in page and "京环信不受〔2026〕第1号" in page
    assert "该事项已经进入诉讼程序" in page and "可以向通州区人民法院提出" in page
    assert "2026年10月9日" in page  # dated


def _page(web, username, url):  # noqa: F811
    page = web(username).get(url)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_notices_name_the_petitioner_only_in_their_copy_and_nobody_else(api, web):  # noqa: F811
    _, handling = petition_to_handling(api, shanghai(2026, 9, 28, 10), shanghai(2026, 10, 10, 16))
    case_no = handling["case_no"]
    with time_machine.travel(shanghai(2026, 11, 2, 15), tick=False):
        api.ok(case_no, "request_extension", "bj-officer", days=20, reason="需第三方检测，联系人王五（13700001234）")
        api.ok(case_no, "approve_extension", "bj-leader", approved=True)
        text = "经查属实。砖厂负责人赵六（电话 010-81234567，身份证 110101198001011234）已签字确认整改。"
        api.ok(case_no, "reply", "bj-officer", result="已责令停产整改", text=text)

    kinds = {d["kind"]: d for d in documents(api, case_no)}
    assert list(kinds) == ["acceptance", "extension", "answer"]
    extension = _page(web, "bj-intake", kinds["extension"]["url"])
    assert "信访事项延期办理告知书" in extension and "办理期限延长20日，至2026年12月29日" in extension
    answer = _page(web, "bj-intake", kinds["answer"]["url"])
    assert "李四等6人：" in answer  # the petitioner's copy, to intake who sees them
    for other_people in ("13700001234", "81234567", "110101198001011234", "bj-officer"):
        assert other_people not in answer and other_people not in extension
    assert "2026年10月10日受理" in answer and "三十日内请求本机关的上一级行政机关复查" in answer

    file_copy = _page(web, "bj-intake", kinds["answer"]["url"] + "?copy=file")
    masked = _page(web, "bj-supervisor", kinds["answer"]["url"])
    for page in (file_copy, masked):
        assert "李四" not in page and "13900001111" not in page and "李*等6人：" in page
        assert "存档联" in page
