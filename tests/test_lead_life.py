"""The life of a lead at both ends: whistles end with their case, the ladder summons a peer only over
the peer's own lateness, and the receiver's case follows the origin's (closes, reopens)."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from ecoflow.complaints.models import Complaint
from ecoflow.escalation.jobs import sweep
from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.timeutil import utcnow

from .conftest import shanghai

START = shanghai(2026, 11, 2, 9)  # a Monday


def deliver(at):
    with time_machine.travel(at, tick=False):
        return deliver_outbox(utcnow())


def he_act(api, case_no, action, as_, **fields):
    version = api.complaint(case_no, as_="he-supervisor")["version"]
    response = api.act(case_no, action, as_, version=version, **fields)
    assert response.status_code == 200, (action, response.json)
    return response.json


def received_lead(db, origin_case_no) -> Complaint:
    return db.session.scalar(select(Complaint).where(Complaint.peer_case_no == origin_case_no))


def open_whistles(api, case_no, as_):
    return [w for w in api.get(f"/api/v1/whistles?case_no={case_no}", as_).json if w["closed_at"] is None]


def test_closing_a_case_closes_its_open_whistles_with_the_reason(api):
    case_no = api.to_handling()
    api.ok(case_no, "whistle", "bj-supervisor", reason="企业拒不整改，请联合执法。", parties=["supervision_office"])
    assert len(open_whistles(api, case_no, "bj-supervisor")) == 1
    api.ok(case_no, "reply", "bj-officer", result="已整改", text="已整改完毕。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")

    assert open_whistles(api, case_no, "bj-supervisor") == []
    (whistle,) = api.get(f"/api/v1/whistles?case_no={case_no}", "bj-supervisor").json
    assert whistle["joint_action"] == "案件办结，吹哨随案关闭。"
    closing = api.events(case_no)[-1]
    assert (closing["action"], closing["data"]["whistle"]) == ("close_whistle", whistle["id"])


def test_a_lead_returned_after_its_late_signature_ends_the_whistle_its_lateness_blew(api, db):
    with time_machine.travel(START, tick=False):
        origin = api.to_handling()
        api.ok(origin, "transfer", "bj-officer", to_bureau="HE", reason="属河北管辖。", callback=False)
    deliver(START + timedelta(minutes=1))
    he_case = received_lead(db, origin).case_no
    with time_machine.travel(START + timedelta(hours=31), tick=False):
        sweep(utcnow())
        assert len(open_whistles(api, he_case, "he-supervisor")) == 1
        he_act(api, he_case, "return_lead", "he-intake", reason="污染源不在河北境内。")
    assert open_whistles(api, he_case, "he-supervisor") == []
    (whistle,) = api.get(f"/api/v1/whistles?case_no={he_case}", "he-supervisor").json
    assert whistle["joint_action"] == "案件已退回，吹哨随案关闭。"


def answered_lead(api, db, start):
    """Beijing transfers, Hebei signs, accepts, handles and answers: Hebei's case waits for Beijing."""
    with time_machine.travel(start, tick=False):
        origin = api.to_handling()
        api.ok(origin, "transfer", "bj-officer", to_bureau="HE", reason="属河北管辖。", callback=False)
    deliver(start + timedelta(minutes=1))
    he_case = received_lead(db, origin).case_no
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        he_act(api, he_case, "sign_lead", "he-intake")
        he_act(api, he_case, "accept", "he-intake")
        he_act(api, he_case, "assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="general",
               categories=["air"])  # fmt: skip
        he_act(api, he_case, "sign", "he-officer")
        he_act(api, he_case, "reply", "he-officer", result="已责令停产整改", text="已查实并责令整改。")
    deliver(start + timedelta(hours=2))
    return origin, he_case


def test_an_answered_lead_asks_no_follow_up_and_closes_after_the_wait_if_the_origin_says_nothing(api, db):
    _origin, he_case = answered_lead(api, db, START)
    waiting = api.complaint(he_case, as_="he-intake")
    assert waiting["state"] == "awaiting_origin" and "follow_up" not in waiting["allowed_actions"]
    with time_machine.travel(START + timedelta(days=29), tick=False):
        sweep(utcnow())
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "awaiting_origin"
    with time_machine.travel(START + timedelta(days=30, hours=3), tick=False):
        sweep(utcnow())
    closed = api.complaint(he_case, as_="he-supervisor")
    assert closed["state"] == "closed"
    last = api.events(he_case, as_="he-supervisor")[-1]
    assert last["action"] == "close_lead" and "30日" in last["data"]["reason"]


def test_the_origin_reopening_reopens_the_receivers_case_with_the_reason_on_both_timelines(api, db):
    origin, he_case = answered_lead(api, db, START)
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        api.ok(origin, "reply", "bj-officer", result="已由河北查处", text="已由河北方面查处。")
        api.ok(origin, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    deliver(START + timedelta(hours=4))
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "closed"
    with time_machine.travel(START + timedelta(days=2), tick=False):
        api.ok(origin, "reopen", "bj-supervisor", reason="群众再次反映夜间仍有异味。")
    deliver(START + timedelta(days=2, minutes=1))

    reopened = api.complaint(he_case, as_="he-supervisor")
    assert (reopened["state"], reopened["reopen_count"]) == ("handling", 1)
    last = api.events(he_case, as_="he-supervisor")[-1]
    assert last["action"] == "reopen_lead" and "群众再次反映夜间仍有异味。" in last["data"]["reason"]
    assert [e["action"] for e in api.events(origin)][-1] == "reopen"
    assert any(c["kind"] == "reply" and c["stopped_at"] is None for c in reopened["clocks"])
