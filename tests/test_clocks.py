"""Clocks and deadlines: natural and working days on the official calendar, pause, extension,
reopening, re-assignment. Tests travel in time."""

import logging
from datetime import date, datetime, timedelta

import pytest
import time_machine

from ecoflow.norm import Period, WorkCalendar

from .conftest import shanghai


def due(complaint, kind="reply", index=-1):
    clocks = [c for c in complaint["clocks"] if c["kind"] == kind]
    return datetime.fromisoformat(clocks[index]["due_at"])


def status(complaint, kind="reply", index=-1):
    return [c for c in complaint["clocks"] if c["kind"] == kind][index]["status"]


def graded(api, grade, received_at, categories=("air",)):
    with time_machine.travel(received_at + timedelta(minutes=5), tick=False):
        case_no = api.register(received_at=received_at.isoformat())["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        return api.ok(case_no, "grade", "bj-dispatcher", grade=grade, categories=list(categories))


def test_general_reply_is_due_seven_natural_days_after_receipt(api):
    complaint = graded(api, "general", shanghai(2026, 9, 30, 10))

    assert due(complaint) == shanghai(2026, 10, 7, 10)
    assert due(complaint, "first_contact") == shanghai(2026, 10, 1, 10)
    # Stored and served in UTC.
    assert complaint["clocks"][0]["due_at"].endswith("+00:00")


def test_key_reply_counts_fifteen_working_days_across_national_day(api):
    # 国庆 2026: 1-7 October off, Saturday 10 October a make-up working day.
    holidays = {date(2026, 10, d) for d in range(1, 8)}
    makeup = {date(2026, 10, 10)}
    day, counted = date(2026, 9, 30), 0
    while counted < 15:
        day += timedelta(days=1)
        if day in makeup or (day.weekday() < 5 and day not in holidays):
            counted += 1

    complaint = graded(api, "key", shanghai(2026, 9, 30, 10))

    assert day == date(2026, 10, 27)
    assert due(complaint) == shanghai(2026, 10, 27, 10)


def test_key_reply_across_spring_festival_with_its_make_up_days(app):
    calendar = WorkCalendar()
    # 春节 2026: 15-23 February off; Saturday 14 and Saturday 28 February are make-up working days.
    assert calendar.is_workday(date(2026, 2, 14)) and calendar.is_workday(date(2026, 2, 28))
    assert not calendar.is_workday(date(2026, 2, 16))
    start = shanghai(2026, 2, 12, 9, 30)  # Thursday
    # Working days after it: 13 (Fri), 14 (Sat, make-up), 24, 25, 26, 27, 28 (Sat, make-up), 2 March ...
    assert calendar.add(start, Period(3, "working_days")) == shanghai(2026, 2, 24, 9, 30)
    assert calendar.add(start, Period(7, "working_days")) == shanghai(2026, 2, 28, 9, 30)
    assert calendar.add(start, Period(8, "working_days")) == shanghai(2026, 3, 2, 9, 30)


def test_working_days_from_a_rest_day_count_from_the_next_working_morning(app):
    calendar = WorkCalendar()
    saturday = shanghai(2026, 11, 21, 15)
    # One working day: all of Monday, so due at the start of Tuesday.
    assert calendar.add(saturday, Period(1, "working_days")) == shanghai(2026, 11, 24, 0)


def test_consult_has_a_reply_clock_only(api):
    complaint = graded(api, "consult", shanghai(2026, 11, 20, 16))  # Friday afternoon
    assert [c["kind"] for c in complaint["clocks"]] == ["reply"]
    assert due(complaint) == shanghai(2026, 11, 23, 16)  # Monday


def test_urgent_clocks_are_minutes_and_hours(api):
    complaint = graded(api, "urgent", shanghai(2026, 11, 22, 23, 50), categories=("water",))
    assert due(complaint, "first_contact") == shanghai(2026, 11, 23, 0, 20)
    assert due(complaint) == shanghai(2026, 11, 23, 23, 50)


def test_a_year_the_library_does_not_cover_falls_back_to_weekends_and_says_so(caplog):
    calendar = WorkCalendar(holidays=[date(2099, 1, 1)], workdays=[date(2099, 1, 3)])
    with caplog.at_level(logging.WARNING):
        # 2098-12-31 is a Wednesday; 1 January is an operator holiday, Saturday 3 January an
        # operator make-up day, Sunday 4 a weekend.
        result = calendar.add(shanghai(2098, 12, 31, 10), Period(3, "working_days"))
    assert result == shanghai(2099, 1, 5, 10)
    assert "2099" in caplog.text and "calendar.yaml" in caplog.text


def test_deadline_runs_into_an_uncovered_year_without_failing(api):
    complaint = graded(api, "key", shanghai(2026, 12, 24, 10))
    assert due(complaint).year == 2027


def test_clock_turns_overdue_when_time_passes(api):
    complaint = graded(api, "general", shanghai(2026, 11, 2, 9))
    case_no = complaint["case_no"]
    with time_machine.travel(shanghai(2026, 11, 9, 9, 1), tick=False):
        late = api.complaint(case_no)
        assert status(late) == "overdue"
        listed = api.get("/api/v1/complaints", "bj-supervisor", query_string={"overdue": "true"}).json
        assert [c["case_no"] for c in listed["items"]] == [case_no]


def test_contact_and_reply_stop_their_clocks_and_keep_the_result(api):
    start = shanghai(2026, 11, 2, 9)
    with time_machine.travel(start, tick=False):
        case_no = api.to_handling()
    with time_machine.travel(start + timedelta(hours=30), tick=False):  # first contact was due in 24 h
        api.ok(case_no, "contact", "bj-officer")
    with time_machine.travel(start + timedelta(days=3), tick=False):
        replied = api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
    assert status(replied, "first_contact") == "late"
    assert status(replied) == "met"
    with time_machine.travel(start + timedelta(days=30), tick=False):
        assert status(api.complaint(case_no)) == "met"  # a stopped clock never turns overdue


def test_pause_stops_the_clock_and_resume_moves_the_due_time(api):
    start = shanghai(2026, 11, 2, 9)
    with time_machine.travel(start, tick=False):
        case_no = api.to_handling()
        original = due(api.complaint(case_no))
    with time_machine.travel(start + timedelta(days=1), tick=False):
        paused = api.ok(case_no, "pause", "bj-supervisor", reason="等待监测报告")
        assert status(paused) == "paused"
        assert api.act(case_no, "pause", "bj-supervisor", reason="again").status_code == 409
    with time_machine.travel(start + timedelta(days=8), tick=False):
        # Past the original due time, but paused: not overdue.
        assert status(api.complaint(case_no)) == "paused"
    with time_machine.travel(start + timedelta(days=3, hours=6), tick=False):
        resumed = api.ok(case_no, "resume", "bj-supervisor")
    assert due(resumed) == original + timedelta(days=2, hours=6)
    assert status(resumed) == "running"


def test_pause_counts_at_most_the_cap(api, app):
    cap = app.extensions["ecoflow.norm"].pause["max_total"]
    assert cap == Period(15, "natural_days")
    start = shanghai(2026, 11, 2, 9)
    with time_machine.travel(start, tick=False):
        case_no = api.to_handling()
        original = due(api.complaint(case_no))
        api.ok(case_no, "pause", "bj-supervisor", reason="等待")
    with time_machine.travel(start + timedelta(days=40), tick=False):
        resumed = api.ok(case_no, "resume", "bj-supervisor")
    assert due(resumed) == original + timedelta(days=15)


def test_extension_needs_approval_and_moves_the_due_time(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        original = due(api.complaint(case_no))
        assert api.act(case_no, "request_extension", "bj-officer", days=8, reason="x").status_code == 422
        requested = api.ok(case_no, "request_extension", "bj-officer", days=5, reason="等待检测结果")
        assert due(requested) == original
        assert api.act(case_no, "request_extension", "bj-officer", days=1, reason="x").status_code == 409
        assert api.act(case_no, "approve_extension", "bj-officer", approved=True).status_code == 403
        assert api.act(case_no, "approve_extension", "bj-supervisor").status_code == 422  # say yes or no
        approved = api.ok(case_no, "approve_extension", "bj-supervisor", approved=True, note="同意")
    assert due(approved) == original + timedelta(days=5)


def test_second_extension_needs_a_leader(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling(grade="key")
        original = due(api.complaint(case_no))
        api.ok(case_no, "request_extension", "bj-officer", days=2, reason="第一次")
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)
        api.ok(case_no, "request_extension", "bj-officer", days=20, reason="第二次")

        refused = api.act(case_no, "approve_extension", "bj-supervisor", approved=True)
        assert refused.status_code == 403
        assert refused.json["details"]["required_roles"] == ["leader"]
        approved = api.ok(case_no, "approve_extension", "bj-leader", approved=True)
    # 22 working days on from the original due date, on the official calendar.
    from ecoflow.norm import WorkCalendar as Calendar

    assert due(approved) == Calendar().add(original, Period(22, "working_days"))


def test_refused_extension_leaves_the_due_time(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        original = due(api.complaint(case_no))
        api.ok(case_no, "request_extension", "bj-officer", days=3, reason="x")
        refused = api.ok(case_no, "approve_extension", "bj-supervisor", approved=False, note="理由不充分")
    assert due(refused) == original
    assert api.events(case_no)[-1]["data"]["approved"] is False


def test_reopening_starts_a_new_reply_clock_from_now(api):
    start = shanghai(2026, 11, 2, 9)
    with time_machine.travel(start, tick=False):
        case_no = api.to_handling()
        api.ok(case_no, "reply", "bj-officer", result="x", text="x")
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    reopened_at = shanghai(2026, 11, 20, 14)
    with time_machine.travel(reopened_at, tick=False):
        reopened = api.ok(case_no, "reopen", "bj-supervisor", reason="问题反弹")
    assert due(reopened) == reopened_at + timedelta(days=7)
    assert [c["status"] for c in reopened["clocks"] if c["kind"] == "reply"] == ["met", "running"]


def test_reassignment_does_not_restart_the_reply_clock(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling()
        before = due(api.complaint(case_no))
    with time_machine.travel(shanghai(2026, 11, 4, 9), tick=False):
        api.ok(case_no, "return", "bj-officer", reason="非本辖区")
        reassigned = api.ok(case_no, "assign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2")
    assert due(reassigned) == before
    assert len([c for c in reassigned["clocks"] if c["kind"] == "reply"]) == 1


def test_regrading_re_times_the_running_clocks(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.to_handling(grade="general")
        api.ok(case_no, "return", "bj-officer", reason="需重新分级")
        regraded = api.ok(
            case_no,
            "assign",
            "bj-dispatcher",
            unit="tongzhou",
            officer="bj-officer",
            grade="urgent",
            categories=["air"],
        )
    assert due(regraded) == shanghai(2026, 11, 3, 9)


@pytest.mark.parametrize("received", ["2026-11-22T10:00:00+08:00", "2026-11-22T10:00:00"])
def test_received_at_without_zone_is_shanghai_time(api, received):
    with time_machine.travel(shanghai(2026, 11, 22, 11), tick=False):
        complaint = api.register(received_at=received)
    assert datetime.fromisoformat(complaint["received_at"]) == shanghai(2026, 11, 22, 10)


def test_received_in_the_future_is_refused(api):
    with time_machine.travel(shanghai(2026, 11, 22, 11), tick=False):
        response = api.post(
            "/api/v1/complaints", "bj-intake",
            json={"channel": "online", "type": "complaint", "description": "x", "location": {"address": "北京市"},
                  "received_at": "2026-11-23T11:00:00+08:00"},
        )  # fmt: skip
    assert response.status_code == 422
    assert "received_at" in response.json["details"]["fields"]


def test_assignment_starts_the_sign_clock_and_re_assignment_restarts_it(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.register()["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        assigned = api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer",
                          grade="general", categories=["air"])  # fmt: skip
    assert due(assigned, "sign") == shanghai(2026, 11, 2, 11)
    with time_machine.travel(shanghai(2026, 11, 2, 12), tick=False):  # an hour late
        returned = api.ok(case_no, "return", "bj-officer", reason="非本辖区")
        reply_due = due(returned)
    assert status(returned, "sign") == "late"
    with time_machine.travel(shanghai(2026, 11, 3, 10), tick=False):
        reassigned = api.ok(case_no, "assign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2")
    assert due(reassigned, "sign") == shanghai(2026, 11, 3, 12)  # a fresh sign clock from now
    assert [c["status"] for c in reassigned["clocks"] if c["kind"] == "sign"] == ["late", "running"]
    assert due(reassigned) == reply_due  # the reply clock runs on
    with time_machine.travel(shanghai(2026, 11, 3, 10, 30), tick=False):
        signed = api.ok(case_no, "sign", "bj-officer2")
    assert status(signed, "sign") == "met"


def test_retime_clocks_moves_running_working_day_deadlines_past_newly_announced_holidays(api, app, runner, monkeypatch):
    key = graded(api, "key", shanghai(2026, 12, 24, 10))["case_no"]
    general = graded(api, "general", shanghai(2026, 12, 24, 10))["case_no"]
    assert due(api.complaint(key)) == shanghai(2027, 1, 14, 10)  # 2027 not known yet: weekends only
    # The operator lists 2027's New Year's Day in workflows/calendar.yaml and restarts.
    monkeypatch.setattr(app.extensions["ecoflow.norm"].calendar, "holidays", frozenset({date(2027, 1, 1)}))

    with time_machine.travel(shanghai(2026, 12, 28, 9), tick=False):
        result = runner.invoke(args=["ecoflow", "retime-clocks"])

    assert f"{key} reply: 2027-01-14 10:00 → 2027-01-15 10:00" in result.output
    assert "1 deadline(s) moved." in result.output  # the general case counts natural days
    assert due(api.complaint(key)) == shanghai(2027, 1, 15, 10)
    assert due(api.complaint(general)) == shanghai(2026, 12, 31, 10)
    assert api.events(key)[-1]["action"] == "retime"
    assert runner.invoke(args=["ecoflow", "audit", "verify"]).exit_code == 0
    assert "0 deadline(s) moved." in runner.invoke(args=["ecoflow", "retime-clocks"]).output
