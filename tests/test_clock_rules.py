"""Clock rules found in review: re-grading, extensions per clock, requests that lapse, pauses on
working-day clocks. Tests travel in time; due times are read in Asia/Shanghai."""

from datetime import UTC, timedelta

import time_machine
from sqlalchemy import select

from ecoflow.complaints.queries import pending_extensions
from ecoflow.escalation.jobs import sweep
from ecoflow.norm import Period, WorkCalendar
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


def test_after_a_later_request_was_decided_there_is_simply_nothing_to_approve(api):
    case_no = reopened_with_a_lapsed_request(api)
    with time_machine.travel(shanghai(2026, 11, 10, 10), tick=False):
        api.ok(case_no, "request_extension", "bj-officer", days=2, reason="复查")
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=False, note="无需延期")
        assert "approve_extension" not in api.complaint(case_no)["allowed_actions"]
        refused = api.act(case_no, "approve_extension", "bj-supervisor", approved=True)
    # The last request was decided: no word of the one that lapsed on the earlier clock.
    assert refused.status_code == 409 and refused.json["error"] == "no_pending_extension"


def paused_key_case(api, received, paused, resumed):
    """A key case (reply in 15 working days) paused by the supervisor from `paused` to `resumed`."""
    with time_machine.travel(received, tick=False):
        case_no = api.to_handling(grade="key")
        api.ok(case_no, "contact", "bj-officer", method="电话")
    with time_machine.travel(paused, tick=False):
        api.ok(case_no, "pause", "bj-supervisor", reason="等待监测报告")
    with time_machine.travel(resumed, tick=False):
        return case_no, api.ok(case_no, "resume", "bj-supervisor")


def test_a_working_day_pause_gives_back_a_working_day(api):
    received = shanghai(2026, 11, 6, 9)  # Friday; due Friday 27 November 09:00
    case_no, resumed = paused_key_case(api, received, shanghai(2026, 11, 9, 9), shanghai(2026, 11, 10, 9))

    assert due(resumed) == shanghai(2026, 11, 30, 9)  # Monday: one working day later, not Saturday
    assert api.events(case_no)[-1]["data"]["counted_seconds"] == 86400


def test_a_pause_from_friday_to_monday_gives_back_the_working_time_only(api):
    # Friday 09:00-24:00 and Monday 00:00-09:00: 24 hours of working time, one working day.
    received = shanghai(2026, 11, 2, 9)  # Monday; due Monday 23 November 09:00
    case_no, resumed = paused_key_case(api, received, shanghai(2026, 11, 6, 9), shanghai(2026, 11, 9, 9))

    assert due(resumed) == shanghai(2026, 11, 24, 9)  # Tuesday, not Thursday
    assert api.events(case_no)[-1]["data"]["counted_seconds"] == 3 * 86400  # the cap counts calendar time


def test_a_pause_over_rest_days_gives_back_nothing(api):
    received = shanghai(2026, 9, 21, 9)  # Monday; 中秋 Friday 25 September, 国庆 1-7 October off
    with time_machine.travel(received, tick=False):
        original = due(api.complaint(api.to_handling(grade="key")))
    _, mid_autumn = paused_key_case(api, received, shanghai(2026, 9, 25, 10), shanghai(2026, 9, 27, 18))
    _, national_day = paused_key_case(api, received, shanghai(2026, 10, 1, 0), shanghai(2026, 10, 8, 0))

    assert original == shanghai(2026, 10, 19, 9)
    assert due(mid_autumn) == original
    assert due(national_day) == original


def test_a_natural_day_pause_over_a_weekend_gives_back_the_weekend(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()  # general: 7 natural days, due Monday 9 November 09:00
    with time_machine.travel(shanghai(2026, 11, 6, 9), tick=False):
        api.ok(case_no, "pause", "bj-supervisor", reason="等待监测报告")
    with time_machine.travel(shanghai(2026, 11, 9, 9), tick=False):
        resumed = api.ok(case_no, "resume", "bj-supervisor")
    assert due(resumed) == shanghai(2026, 11, 12, 9)


def test_the_ladder_warns_at_four_fifths_of_the_running_time_of_a_paused_working_day_clock(api):
    received = shanghai(2026, 11, 6, 9)
    paused_key_case(api, received, shanghai(2026, 11, 9, 9), shanghai(2026, 11, 10, 9))

    # Running from Monday 9 November 09:00 (Friday 09:00 plus the working day given back) to Monday
    # 30 November 09:00: 21 days, four fifths of them 16 days 19 hours 12 minutes.
    def reply_rungs(at):
        with time_machine.travel(at, tick=False):
            return [f["rung"] for f in sweep(at) if f.get("clock") == "reply"]

    assert reply_rungs(shanghai(2026, 11, 26, 4, 11)) == []
    assert reply_rungs(shanghai(2026, 11, 26, 4, 13)) == ["warning"]
    assert reply_rungs(shanghai(2026, 11, 30, 8, 59)) == []
    assert reply_rungs(shanghai(2026, 11, 30, 9, 1)) == ["overdue", "whistle"]  # key: whistled at once


def test_working_seconds_count_whole_working_days_of_shanghai(app):
    calendar = WorkCalendar()
    friday, monday = shanghai(2026, 11, 6, 9), shanghai(2026, 11, 9, 9)
    assert calendar.working_seconds(friday, monday) == 86400
    assert calendar.working_seconds(shanghai(2026, 11, 7, 0), shanghai(2026, 11, 9, 0)) == 0  # a weekend
    # 国庆 2026: 30 September is worked, 1-7 October are off, Saturday 10 October is a make-up day.
    assert calendar.working_seconds(shanghai(2026, 9, 30, 12), shanghai(2026, 10, 8, 12)) == 86400
    assert calendar.working_seconds(shanghai(2026, 10, 10, 0), shanghai(2026, 10, 11, 12)) == 86400
    # Stored in UTC: the days are still Shanghai's (Friday 01:00 UTC is 09:00 there).
    assert calendar.working_seconds(friday.astimezone(UTC), monday.astimezone(UTC)) == 86400


def test_adding_working_seconds_skips_rest_days_and_agrees_with_working_days(app):
    calendar = WorkCalendar()
    assert calendar.add_working_seconds(shanghai(2026, 11, 6, 9), 86400) == shanghai(2026, 11, 9, 9)
    assert calendar.add_working_seconds(shanghai(2026, 11, 7, 15), 3600) == shanghai(2026, 11, 9, 1)
    assert calendar.add_working_seconds(shanghai(2026, 11, 7, 15), 0) == shanghai(2026, 11, 7, 15)
    for start in (
        shanghai(2026, 11, 6, 9),
        shanghai(2026, 11, 6, 0),
        shanghai(2026, 11, 21, 15),
        shanghai(2026, 9, 30, 10),
    ):
        for days in (1, 5, 15):
            assert calendar.add_working_seconds(start, days * 86400) == calendar.add(
                start, Period(days, "working_days")
            )
