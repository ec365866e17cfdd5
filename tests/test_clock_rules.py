"""Clock rules found in review: re-grading, extensions per clock, requests that lapse, pauses on
working-day clocks. Tests travel in time; due times are read in Asia/Shanghai."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from ecoflow.complaints.services import pending_extensions
from ecoflow.officers.models import Officer

from .conftest import shanghai
from .test_clocks import due, status

ASSIGN = {"unit": "tongzhou", "officer": "bj-officer", "categories": ["air"]}


def test_regrading_back_restarts_a_first_contact_clock_an_earlier_grade_cancelled(api):
    received = shanghai(2026, 11, 2, 9)
    with time_machine.travel(received, tick=False):
        case_no = api.register()["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "assign", "bj-dispatcher", grade="general", **ASSIGN)
        api.ok(case_no, "return", "bj-officer", reason="需重新分级")
        consult = api.ok(case_no, "assign", "bj-dispatcher", grade="consult", **ASSIGN)
        assert status(consult, "first_contact") == "cancelled"  # 咨询 has no first-contact clock
        api.ok(case_no, "return", "bj-officer", reason="需重新分级")
    with time_machine.travel(received + timedelta(hours=3), tick=False):
        general = api.ok(case_no, "assign", "bj-dispatcher", grade="general", **ASSIGN)

    assert [c["status"] for c in general["clocks"] if c["kind"] == "first_contact"] == ["cancelled", "running"]
    assert due(general, "first_contact") == shanghai(2026, 11, 3, 9)  # 24 hours from receipt, as grade clocks run


def test_regrading_back_does_not_restart_a_first_contact_clock_that_was_met(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling(grade="general")
        api.ok(case_no, "contact", "bj-officer", method="电话")
        api.ok(case_no, "return", "bj-officer", reason="需重新分级")
        api.ok(case_no, "assign", "bj-dispatcher", grade="consult", **ASSIGN)
        api.ok(case_no, "return", "bj-officer", reason="需重新分级")
        general = api.ok(case_no, "assign", "bj-dispatcher", grade="general", **ASSIGN)

    assert [c["status"] for c in general["clocks"] if c["kind"] == "first_contact"] == ["met"]


def test_a_refused_first_extension_leaves_the_next_request_the_first(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()  # general: 7 natural days, due 9 Nov 09:00
        api.ok(case_no, "request_extension", "bj-officer", days=3, reason="等待检测结果")
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=False, note="理由不充分")

        too_long = api.act(case_no, "request_extension", "bj-officer", days=30, reason="等待检测结果")
        assert too_long.status_code == 422
        assert "首次延期最多 7 天" in too_long.json["details"]["fields"]["days"][0]
        requested = api.ok(case_no, "request_extension", "bj-officer", days=5, reason="等待检测结果")
        approved = api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)  # no leader needed

    assert due(requested) == shanghai(2026, 11, 9, 9)
    assert due(approved) == shanghai(2026, 11, 14, 9)
    request, decision = api.events(case_no)[-2:]
    assert request["data"]["ordinal"] == 2 and request["data"]["nth"] == 1  # the case's 2nd request, its 1st extension
    assert decision["data"]["nth"] == 1


def test_the_first_extension_of_a_reopened_case_is_the_first_of_its_new_reply_clock(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        api.ok(case_no, "request_extension", "bj-officer", days=2, reason="等待检测结果")
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)
        api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    reopened_at = shanghai(2026, 11, 20, 14)
    with time_machine.travel(reopened_at, tick=False):
        api.ok(case_no, "reopen", "bj-supervisor", reason="问题反弹")
        assert api.act(case_no, "request_extension", "bj-officer", days=8, reason="复查").status_code == 422
        api.ok(case_no, "request_extension", "bj-officer", days=3, reason="复查")
        approved = api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)

    assert due(approved) == shanghai(2026, 11, 30, 14)  # 7 + 3 natural days from the reopening
    assert due(approved, index=0) == shanghai(2026, 11, 11, 9)  # the first clock keeps its own extension


def reopened_with_a_lapsed_request(api):
    """A general case (reply due 9 Nov 09:00) replied a day late with an extension still pending,
    then followed up unresolved: a new reply clock from 10 Nov 09:00."""
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        api.ok(case_no, "request_extension", "bj-officer", days=5, reason="等待检测结果")
    with time_machine.travel(shanghai(2026, 11, 10, 9), tick=False):
        assert status(api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")) == "late"
        api.ok(case_no, "follow_up", "bj-intake", resolved=False, satisfaction="unsatisfied")
    return case_no


def test_an_extension_pending_at_reply_lapses_and_never_re_times_the_stopped_clock(api, db):
    case_no = reopened_with_a_lapsed_request(api)
    with time_machine.travel(shanghai(2026, 11, 10, 10), tick=False):
        refused = api.act(case_no, "approve_extension", "bj-supervisor", approved=True)
        replies = api.get("/api/v1/assessment", "bj-leader", query_string={"month": "2026-11"}).json["total"]["reply"]
    assert refused.status_code == 409
    assert refused.json["error"] == "extension_lapsed"
    assert "2026-11-10 09:00 停止" in refused.json["message"]
    old = api.complaint(case_no)
    assert status(old, index=0) == "late" and due(old, index=0) == shanghai(2026, 11, 9, 9)
    supervisor = db.session.scalar(select(Officer).where(Officer.username == "bj-supervisor"))
    assert pending_extensions(supervisor) == []  # no longer offered on the supervision board
    assert (replies["numerator"], replies["denominator"]) == (0, 1)  # the late reply stays late


def test_a_lapsed_request_does_not_block_one_for_the_new_reply_clock(api):
    case_no = reopened_with_a_lapsed_request(api)
    with time_machine.travel(shanghai(2026, 11, 10, 10), tick=False):
        api.ok(case_no, "request_extension", "bj-officer", days=2, reason="复查")
        approved = api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)

    assert due(approved) == shanghai(2026, 11, 19, 9)  # 7 + 2 natural days from 10 Nov 09:00
    assert status(approved, index=0) == "late" and due(approved, index=0) == shanghai(2026, 11, 9, 9)
