"""领导批示: an instruction at intake (channel `leader`) or by the `instruct` action, its clock
`instruction_report`, the 报结 that closes it and tells the instructing leader, the ladder when late."""

import time_machine

from ecoflow.escalation.jobs import sweep

from .conftest import shanghai
from .test_clocks import due, status
from .test_web import web  # noqa: F401 (a fixture)

INSTRUCTION = {"leader_name": "王明", "leader_title": "副市长", "text": "请市生态环境局立即核查，依法处理，报结果。",
               "report_days": 5}  # fmt: skip


def inbox(api, username):
    return [n["message"] for n in api.get("/api/v1/notifications", username).json["items"]]


def test_an_instruction_at_intake_runs_its_report_clock_and_the_report_goes_to_the_bureaus_leaders(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case = api.register(channel="leader", instruction={**INSTRUCTION, "given_at": "2026-11-01T16:00:00+08:00"})
        assert case["suggestion"]["grade"] == "key"
        assert due(case, "instruction_report") == shanghai(2026, 11, 7)  # the end of the 5th day after 1 November
        case_no = case["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="key",
               categories=["air"])  # fmt: skip
        api.ok(case_no, "sign", "bj-officer")
        assert status(api.complaint(case_no), "instruction_report") == "running"  # grading leaves it alone
        reported = api.ok(case_no, "report_back", "bj-officer", result="已责令企业停产整改，并立案调查。")
    assert status(reported, "instruction_report") == "met"
    assert any("副市长王明" in m and "已责令企业停产整改" in m for m in inbox(api, "bj-leader"))
    again = api.act(case_no, "report_back", "bj-officer", result="再次报结")
    assert again.status_code == 409 and again.json["error"] == "no_open_instruction"


def test_a_leader_instructs_on_a_case_and_the_report_comes_back_to_them(api, make_officer):
    make_officer("bj-leader2", ["leader"])
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        assert "instruct" not in api.complaint(case_no, as_="bj-supervisor")["allowed_actions"]
        by_the_director = {**INSTRUCTION, "report_days": 3, "leader_name": "赵强", "leader_title": "局长"}
        instructed = api.ok(case_no, "instruct", "bj-leader2", **by_the_director)
        assert due(instructed, "instruction_report") == shanghai(2026, 11, 6)
        second = api.act(case_no, "instruct", "bj-leader", **INSTRUCTION)
        assert second.status_code == 409 and "等待报结" in second.json["message"]
        api.ok(case_no, "report_back", "bj-officer", result="已现场核查，企业已整改。")
        assert any("局长赵强" in m and "已现场核查" in m for m in inbox(api, "bj-leader2"))
        assert not any("已现场核查" in m for m in inbox(api, "bj-leader"))
        api.ok(case_no, "instruct", "bj-leader", **INSTRUCTION)  # the next one, after the 报结


def test_an_instruction_not_reported_back_in_time_climbs_the_ladder(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        api.ok(case_no, "instruct", "bj-leader", **{**INSTRUCTION, "report_days": 2})

    def rungs(at):
        with time_machine.travel(at, tick=False):
            return [f["rung"] for f in sweep(at) if f.get("clock") == "instruction_report"]

    assert rungs(shanghai(2026, 11, 4, 20)) == ["warning"]
    assert rungs(shanghai(2026, 11, 5, 0, 1)) == ["overdue"]
    assert status(api.complaint(case_no), "instruction_report") == "overdue"
    assert any(case_no in m for m in inbox(api, "bj-officer"))


def test_the_intake_form_takes_the_instruction_and_the_case_page_shows_it(api, web):  # noqa: F811
    intake = web("bj-intake")
    form = intake.get("/complaints/new").text
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    fields = {"csrf_token": token, "channel": "leader", "type": "complaint", "name": "张三", "phone": "13812345678",
              "address": "北京市通州区梨园镇云景里小区3号楼", "description": "领导批示：小区旁工厂排放废气。",
              "instruction_leader": "王明", "instruction_title": "副市长", "instruction_text": "请立即核查，报结果。",
              "instruction_days": "5", "confirmed": "1"}  # fmt: skip
    registered = intake.post("/complaints/new", data=fields)
    assert registered.status_code == 302, registered.text[:2000]
    page = intake.get(registered.headers["Location"]).text
    assert "副市长王明" in page and "请立即核查，报结果。" in page and "前报结" in page
