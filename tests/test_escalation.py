"""The escalation ladder, run by the sweep as time passes: 预警, 超期 and 督办, 吹哨, 报到, escalation."""

import logging
import threading
import time
from datetime import UTC, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from ecoflow.escalation import jobs
from ecoflow.escalation.jobs import sweep
from ecoflow.escalation.models import ClockRung, Supervision
from ecoflow.notifications.models import Notification
from ecoflow.officers.models import Officer
from ecoflow.scheduling import hold_lease, make_scheduler, run_jobs

from .conftest import meet_after_first_call, run_together, shanghai

START = shanghai(2026, 11, 2, 9)  # a Monday


def handling_case(api, grade="general", at=START, **fields):
    with time_machine.travel(at, tick=False):
        return api.to_handling(grade=grade, **fields)


def fired(at):
    with time_machine.travel(at, tick=False):
        return [(f["clock"], f["rung"]) for f in sweep(at) if "clock" in f]


def notices(db, username, kind=None):
    officer_id = db.session.scalar(select(Officer.id).where(Officer.username == username))
    query = select(Notification.kind).where(Notification.officer_id == officer_id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query.order_by(Notification.id)).all()


def test_general_case_climbs_the_ladder_in_order(api, db):
    case_no = handling_case(api)
    # reply: 7 natural days → warning at 80 % (5.6 days), overdue at 7 days, whistle at 8.75 days.
    # first contact: 24 h → warning at 19.2 h, overdue at 24 h, whistle at 30 h.
    assert fired(START + timedelta(hours=19)) == []
    assert fired(START + timedelta(hours=20)) == [("first_contact", "warning")]
    assert fired(START + timedelta(hours=24)) == [("first_contact", "overdue")]
    assert fired(START + timedelta(hours=30)) == [("first_contact", "whistle")]
    assert fired(START + timedelta(days=5, hours=15)) == [("reply", "warning")]
    assert fired(START + timedelta(days=7)) == [("reply", "overdue")]
    assert fired(START + timedelta(days=8, hours=18)) == [("reply", "whistle")]
    assert fired(START + timedelta(days=30)) == []

    timeline = [(e["action"], e["data"].get("clock")) for e in api.events(case_no) if e["data"].get("by") == "ladder"]
    assert [a for a, _ in timeline][:3] == ["warning", "overdue", "whistle"]
    assert notices(db, "bj-officer").count("overdue") == 2
    assert "overdue" in notices(db, "bj-supervisor")
    assert db.session.scalar(select(func.count()).select_from(Supervision)) == 2


@pytest.mark.parametrize("grade", ["urgent", "key"])
def test_urgent_and_key_cases_whistle_at_once_when_overdue(api, grade):
    handling_case(api, grade=grade, categories=("water",))
    first_contact_due = START + (timedelta(minutes=30) if grade == "urgent" else timedelta(hours=24))
    result = fired(first_contact_due)
    assert ("first_contact", "overdue") in result and ("first_contact", "whistle") in result
    assert result.index(("first_contact", "overdue")) < result.index(("first_contact", "whistle"))


def test_each_rung_fires_once(api, db):
    handling_case(api)
    late = START + timedelta(days=20)
    first = fired(late)
    assert len(first) == 6
    assert fired(late) == []
    assert fired(late + timedelta(days=5)) == []
    assert db.session.scalar(select(func.count()).select_from(ClockRung)) == 6


def test_a_stopped_clock_never_climbs(api):
    case_no = handling_case(api)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(case_no, "contact", "bj-officer")
        api.ok(case_no, "reply", "bj-officer", result="x", text="x")
    assert fired(START + timedelta(days=30)) == []


def test_paused_clock_does_not_climb_and_resumes_with_moved_rungs(api):
    case_no = handling_case(api)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(case_no, "contact", "bj-officer")
        api.ok(case_no, "pause", "bj-supervisor", reason="等待监测")
    assert fired(START + timedelta(days=10)) == []
    with time_machine.travel(START + timedelta(days=3, hours=1), tick=False):
        api.ok(case_no, "resume", "bj-supervisor")  # 3 days paused: the reply clock and its rungs move 3 days
    assert fired(START + timedelta(days=8, hours=14)) == []
    assert fired(START + timedelta(days=8, hours=15)) == [("reply", "warning")]
    assert fired(START + timedelta(days=10)) == [("reply", "overdue")]


def test_a_pause_past_its_cap_resumes_by_itself_and_the_ladder_goes_on(api):
    case_no = handling_case(api)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(case_no, "contact", "bj-officer")
        api.ok(case_no, "pause", "bj-supervisor", reason="等待监测")
    assert fired(START + timedelta(days=15)) == []  # paused, allowance (15 days) not used up
    # Resumed at the cap (day 15 + 1 h): reply due day 22, so by day 40 every rung is due.
    assert fired(START + timedelta(days=40)) == [("reply", "warning"), ("reply", "overdue"), ("reply", "whistle")]
    resume = [e for e in api.events(case_no) if e["action"] == "resume"]
    assert resume[0]["actor"] is None and resume[0]["data"]["counted_seconds"] == 15 * 86400
    clock = next(c for c in api.complaint(case_no)["clocks"] if c["kind"] == "reply")
    assert clock["due_at"] == (START + timedelta(days=22)).astimezone(UTC).isoformat()


def test_approved_extension_moves_the_rungs(api):
    case_no = handling_case(api)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(case_no, "contact", "bj-officer")
        api.ok(case_no, "request_extension", "bj-officer", days=7, reason="需要检测")
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)
    assert fired(START + timedelta(days=7, hours=1)) == []  # the old due time passes quietly
    assert fired(START + timedelta(days=11, hours=5)) == [("reply", "warning")]  # 80 % of 14 days
    assert fired(START + timedelta(days=14)) == [("reply", "overdue")]


def test_reopened_case_climbs_again_on_its_new_clock(api):
    case_no = handling_case(api)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(case_no, "contact", "bj-officer")
        api.ok(case_no, "reply", "bj-officer", result="x", text="x")
        api.ok(case_no, "follow_up", "bj-intake", resolved=False, satisfaction="unsatisfied")
    assert fired(START + timedelta(days=7, hours=1)) == [("reply", "warning"), ("reply", "overdue")]


def test_sweep_interrupted_between_clocks_fires_the_rest_once_on_re_run(api, db, monkeypatch):
    for _ in range(3):
        handling_case(api)
    late = START + timedelta(days=20)
    calls = {"n": 0}
    real = jobs.fire_due_rungs

    def crash_on_second(clock, now):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process killed")
        return real(clock, now)

    monkeypatch.setattr(jobs, "BATCH", 1)
    monkeypatch.setattr(jobs, "fire_due_rungs", crash_on_second)
    with time_machine.travel(late, tick=False), pytest.raises(RuntimeError):
        sweep(late)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ClockRung)) == 3  # the first clock's rungs

    monkeypatch.setattr(jobs, "fire_due_rungs", real)
    rest = fired(late)
    assert len(rest) == 15  # 6 clocks × 3 rungs, less the 3 already fired
    assert db.session.scalar(select(func.count()).select_from(ClockRung)) == 18
    assert fired(late) == []


def test_two_sweeps_racing_fire_each_rung_once(app, api, db):
    for _ in range(8):
        handling_case(api)
    late = START + timedelta(days=20)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                results.append(sweep(late))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    run_together(run, run)

    assert errors == []
    total = [item for result in results for item in result]
    assert len(total) == 8 * 2 * 3
    assert len({(i["case_no"], i["clock"], i["rung"]) for i in total}) == len(total)
    assert db.session.scalar(select(func.count()).select_from(ClockRung)) == 48
    # One notice per clock found late: its 超期, naming the 预警 passed (issue 17), never one per rung.
    told = notices(db, "bj-officer")
    assert told.count("overdue") == 16 and told.count("warning") == 0


def test_whistle_summons_parties_who_report_in_or_are_escalated(api, db):
    case_no = handling_case(api)
    fired(START + timedelta(hours=30))  # first contact: warning, overdue, whistle
    whistles = api.get("/api/v1/whistles", "bj-supervisor", query_string={"state": "open"}).json
    assert len(whistles) == 1
    whistle = whistles[0]
    assert whistle["case_no"] == case_no and whistle["by_ladder"] is True
    assert [p["party"] for p in whistle["parties"]] == ["unit_leader", "supervision_office"]
    # Within a bureau, two hours to report in.
    assert whistle["parties"][0]["report_by"] == "2026-11-03T09:00:00+00:00"  # 17:00 in Beijing
    assert "whistle" in notices(db, "bj-leader")

    with time_machine.travel(START + timedelta(hours=31), tick=False):
        assert api.post(f"/api/v1/whistles/{whistle['id']}/report-in", "bj-officer",
                        json={"who_will_act": "我"}).status_code == 403  # fmt: skip
        reported = api.post(f"/api/v1/whistles/{whistle['id']}/report-in", "bj-leader",
                            json={"who_will_act": "执法总队李明带队，今晚现场检查"})  # fmt: skip
        assert reported.status_code == 200, reported.json
    parties = {p["party"]: p for p in reported.json["parties"]}
    assert parties["unit_leader"]["reported_at"] and parties["unit_leader"]["who_will_act"].startswith("执法总队")
    assert parties["supervision_office"]["reported_at"] is None

    with time_machine.travel(START + timedelta(hours=32, minutes=1), tick=False):
        escalated = sweep(START + timedelta(hours=32, minutes=1))
    assert [e["summoned"] for e in escalated if e["rung"] == "escalate"] == ["bureau_leader"]
    after = api.get(f"/api/v1/whistles/{whistle['id']}", "bj-supervisor").json
    assert after["level"] == 1
    assert [p["party"] for p in after["parties"]][-1] == "bureau_leader"
    assert fired(START + timedelta(hours=32, minutes=2)) == []  # escalated once
    with time_machine.travel(START + timedelta(hours=32, minutes=30), tick=False):
        assert api.post(f"/api/v1/whistles/{whistle['id']}/report-in", "bj-leader",
                        json={"who_will_act": "局领导牵头"}).status_code == 200  # fmt: skip
    # Reported in at the level now summoned: the parties escalated past are not awaited any more.
    assert sweep(START + timedelta(hours=40)) == []
    assert api.get(f"/api/v1/whistles/{whistle['id']}", "bj-supervisor").json["escalate_at"] is None

    with time_machine.travel(START + timedelta(hours=33), tick=False):
        closed = api.post(f"/api/v1/whistles/{whistle['id']}/close", "bj-supervisor",
                          json={"joint_action": "两单位联合执法，已查封违法设备"})  # fmt: skip
    assert closed.status_code == 200 and closed.json["closed_at"]
    assert [e["action"] for e in api.events(case_no)][-4:] == ["report_in", "escalate", "report_in", "close_whistle"]


def test_whistle_blown_by_hand(api, db):
    case_no = handling_case(api)
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        result = api.ok(case_no, "whistle", "bj-officer", reason="发现重大违法排污，需联合执法",
                        parties=["unit_leader", "supervision_office"])  # fmt: skip
    assert result["state"] == "handling"
    whistles = api.get("/api/v1/whistles", "bj-supervisor", query_string={"case_no": case_no}).json
    assert len(whistles) == 1 and whistles[0]["by_ladder"] is False
    assert api.act(case_no, "whistle", "bj-officer", reason="x", parties=["nobody"]).status_code == 422


def test_supervision_board(api, db):
    late_case = handling_case(api)
    key_case = handling_case(api, grade="key")
    with time_machine.travel(START + timedelta(days=8), tick=False):
        sweep(START + timedelta(days=8))
        overdue = api.get("/api/v1/supervision/overdue", "bj-supervisor").json
        open_whistles = api.get("/api/v1/supervision/whistles", "bj-supervisor").json
        ledger = api.get("/api/v1/supervision/ledger", "bj-supervisor").json
    assert {(o["case_no"], o["clock"]) for o in overdue} >= {(late_case, "reply"), (late_case, "first_contact")}
    assert all(o["rung"] in ("overdue", "whistle") for o in overdue)
    assert {w["case_no"] for w in open_whistles} == {late_case, key_case}
    assert [entry["case_no"] for entry in ledger] == [key_case]
    assert ledger[0]["leaders"] == ["bj-leader"]
    assert api.get("/api/v1/supervision/overdue", "tj-supervisor").json == []


def test_supervise_by_hand_notifies_the_officer(api, db):
    case_no = handling_case(api)
    api.ok(case_no, "supervise", "bj-supervisor", note="请加快办理")
    assert notices(db, "bj-officer", "supervise") == ["supervise"]


def test_notification_inbox(api, db):
    handling_case(api)
    fired(START + timedelta(days=8))
    inbox = api.get("/api/v1/notifications", "bj-officer").json
    assert inbox["unread"] == inbox["total"] > 0
    first = inbox["items"][-1]
    assert api.post(f"/api/v1/notifications/{first['id']}/read", "bj-officer").status_code == 200
    assert api.get("/api/v1/notifications", "bj-officer").json["unread"] == inbox["total"] - 1
    assert api.post(f"/api/v1/notifications/{first['id']}/read", "bj-leader").status_code == 404
    assert api.post("/api/v1/notifications/read", "bj-officer").json["read"] == inbox["total"] - 1
    assert api.get("/api/v1/notifications", "bj-officer", query_string={"unread": "true"}).json["total"] == 0


def test_notices_are_sent_after_the_sweep(app, api, db, caplog):
    handling_case(api)
    with caplog.at_level(logging.INFO, logger="ecoflow.notifications.senders"):
        run_jobs(app, "test-holder", now=START + timedelta(hours=20))
    assert "预警" in caplog.text
    assert db.session.scalar(select(func.count()).where(Notification.sent_at.is_(None))) == 0


def test_cli_sweep_at_prints_what_fired(api, runner):
    case_no = handling_case(api)
    result = runner.invoke(args=["ecoflow", "sweep", "--at", "2026-11-03T09:00+08:00"])
    assert result.exit_code == 0, result.output
    assert f"case_no={case_no} clock=first_contact rung=overdue" in result.output
    assert "2 rung(s) fired at 2026-11-03T01:00:00+00:00" in result.output


def test_only_one_scheduler_holds_the_lease(app, db):
    now = START
    assert hold_lease("scheduler", "a", timedelta(minutes=3), now)
    assert not hold_lease("scheduler", "b", timedelta(minutes=3), now + timedelta(minutes=1))
    assert hold_lease("scheduler", "a", timedelta(minutes=3), now + timedelta(minutes=2))  # renewal
    assert hold_lease("scheduler", "b", timedelta(minutes=3), now + timedelta(minutes=6))  # a died
    assert run_jobs(app, "a", now=now + timedelta(minutes=7)) == []  # stands by


def test_the_scheduler_runs_the_sweep_by_itself(app, api, db):
    case_no = handling_case(api, at=shanghai(2026, 1, 5, 9))  # long overdue by now

    def done():
        rungs = db.session.scalar(select(func.count()).select_from(ClockRung))
        unsent = db.session.scalar(select(func.count()).where(Notification.sent_at.is_(None)))
        total = db.session.scalar(select(func.count()).select_from(Notification))
        db.session.rollback()  # free SQLite's write lock for the scheduler's thread
        return rungs == 6 and total > 0 and unsent == 0

    db.session.rollback()
    scheduler = make_scheduler(app, blocking=False)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while not done() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert done()
    assert [e["action"] for e in api.events(case_no)].count("whistle") == 2


def test_notices_of_whistles_and_supervision_mask_the_complainant_in_the_officers_text(api, db):
    case_no = handling_case(api)
    api.ok(case_no, "whistle", "bj-officer", reason="张三（13812345678）说北京市通州区梨园镇云景里小区3号楼又闻到异味",
           parties=["unit_leader", "supervision_office"])  # fmt: skip
    api.ok(case_no, "supervise", "bj-supervisor", note="请尽快回电张三 13812345678")
    texts = db.session.scalars(
        select(Notification.message).where(Notification.kind.in_(["whistle", "supervise"]))
    ).all()
    assert texts and any("吹哨" in t for t in texts) and any("督办" in t for t in texts)
    for text in texts:
        assert "张三" not in text and "13812345678" not in text and "云景里" not in text
        assert "138****5678" in text


def test_an_item_the_sweep_cannot_handle_is_left_for_the_next_sweep_and_the_others_go_on(api, db, monkeypatch):
    from ecoflow.errors import Conflict

    stuck, other = handling_case(api), handling_case(api)
    late = START + timedelta(hours=24)
    real = jobs.fire_due_rungs

    def refuse_stuck(clock, now):
        if clock.complaint.case_no == stuck:
            raise Conflict("某兄弟单位暂时无法联系。", code="unknown_peer")
        return real(clock, now)

    monkeypatch.setattr(jobs, "fire_due_rungs", refuse_stuck)
    assert {"case_no": other, "clock": "first_contact", "rung": "overdue"} in sweep(late)
    assert "overdue" not in [e["action"] for e in api.events(stuck)]  # not claimed: nothing lost
    monkeypatch.setattr(jobs, "fire_due_rungs", real)
    assert {"case_no": stuck, "clock": "first_contact", "rung": "overdue"} in sweep(late)
    assert "overdue" in [e["action"] for e in api.events(stuck)]


def test_a_late_case_the_ladder_cannot_transfer_is_still_overdue_and_its_officer_is_told(api, db, monkeypatch):
    from ecoflow.exchange.trust import get_trust

    elsewhere = handling_case(api, location={"address": "天津市武清区某镇", "district": "120114"})
    at_home = handling_case(api, location={"address": "北京市通州区梨园镇", "district": "110112"})
    monkeypatch.delitem(get_trust().peers, "TJ")  # a Beijing deployment whose registry lacks Tianjin
    late = START + timedelta(hours=24)
    done = sweep(late)
    for case_no in (elsewhere, at_home):
        assert {"case_no": case_no, "clock": "first_contact", "rung": "overdue"} in done
    assert api.complaint(elsewhere)["state"] == "handling"
    failed = api.events(elsewhere)[-1]
    assert failed["action"] == "transfer_failed" and failed["data"]["to_bureau"] == "TJ"
    (notice,) = db.session.scalars(
        select(Notification.message).join(Officer).where(
            Officer.username == "bj-officer", Notification.kind == "transfer_failed"
        )
    ).all()  # fmt: skip
    assert elsewhere in notice and "天津市生态环境局" in notice and "人工" in notice
    assert [f for f in sweep(late) if f.get("case_no") == elsewhere] == []  # told once, not every sweep


def test_two_sweeps_at_once_that_deadlock_on_the_monthly_counts_fire_every_rung_once(api, app, db, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and deadlocks: PostgreSQL only")
    cases = []
    for i, category in enumerate(["air", "noise", "noise", "air"]):  # two sweepers lock their counts crosswise
        cases.append(handling_case(api, at=START + timedelta(minutes=i), categories=(category,),
                                   location={"address": f"北京市通州区梨园镇某小区{i}号楼"}))  # fmt: skip
    db.session.rollback()
    monkeypatch.setattr(jobs, "BATCH", 2)
    real = meet_after_first_call(monkeypatch, jobs, "_fire_clock")  # both hold the counts of their first case
    errors = []
    late = START + timedelta(hours=31)

    def run():
        try:
            with app.app_context():
                jobs.sweep(late)
        except Exception as exc:  # what escapes the sweep is the failure
            errors.append(exc)

    run_together(run, run)
    assert errors == []
    monkeypatch.setattr(jobs, "_fire_clock", real)
    sweep(late)  # what a deadlock made one sweeper leave, the next sweep fires
    for case_no in cases:  # first contact: overdue at 24 h, whistle at 30 h, each once
        actions = [e["action"] for e in api.events(case_no)]
        assert (actions.count("overdue"), actions.count("whistle")) == (1, 1)


def test_a_clock_found_past_several_rungs_sends_one_notice(api, db):
    case_no = handling_case(api)
    fired(START + timedelta(hours=25))  # first contact: warning and overdue at once

    overdue = db.session.scalars(
        select(Notification.message).join(Officer).where(
            Officer.username == "bj-officer", Notification.case_no == case_no,
            Notification.kind.in_(["warning", "overdue"]),
        )
    ).all()  # fmt: skip
    assert len(overdue) == 1 and "超期" in overdue[0] and "已越过预警" in overdue[0]


def test_no_warning_on_a_clock_of_an_hour_or_less(api):
    # urgent: 签收 15 minutes, first contact 30 minutes: no 预警 at the moment they start, 超期 at due.
    with time_machine.travel(START, tick=False):
        case_no = api.register(description="河里大量死鱼，疑似化工厂泄漏。")["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="urgent",
               categories=["water"])  # fmt: skip
    assert fired(START + timedelta(minutes=1)) == []
    at_due = fired(START + timedelta(minutes=15))
    assert ("sign", "overdue") in at_due and ("sign", "warning") not in at_due
    # The 24-hour reply clock is still warned at 80 %.
    assert ("reply", "warning") in fired(START + timedelta(hours=20))
