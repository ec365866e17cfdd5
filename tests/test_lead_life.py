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
