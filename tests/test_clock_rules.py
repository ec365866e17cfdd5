"""Clock rules found in review: re-grading, extensions per clock, requests that lapse, pauses on
working-day clocks. Tests travel in time; due times are read in Asia/Shanghai."""

from datetime import timedelta

import time_machine

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
