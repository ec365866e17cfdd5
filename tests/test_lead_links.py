"""A lead received from a peer stays linked to its origin until it is answered there: neither the
ladder nor an officer sends it on, and nothing ends it without the origin hearing of it."""

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from ecoflow.complaints.models import Complaint
from ecoflow.escalation.jobs import sweep
from ecoflow.exchange.models import OutboxMessage
from ecoflow.timeutil import utcnow

from .test_exchange import START, deliver, he, he_ok, linked_case, transferred_case
from .test_hostile_input import assert_error


def _handling_at_hebei(api, db, origin):
    he_case = linked_case(db, origin).case_no
    he_ok(api, he_case, "sign_lead", "he-intake")
    he_ok(api, he_case, "accept", "he-intake")
    he_ok(api, he_case, "assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="general",
          categories=["air"])  # fmt: skip
    he_ok(api, he_case, "sign", "he-officer")
    return he_case


def _sent_by_hebei(db, kind):
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.sender == "HE", OutboxMessage.type == kind)
    ).all()


def test_the_ladder_does_not_send_a_late_received_lead_back_to_its_origin_as_a_new_lead(api, db):
    with time_machine.travel(START, tick=False):
        origin = transferred_case(api)  # the complainant's place is in Beijing (通州)
    deliver(START + timedelta(minutes=1))
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        he_case = _handling_at_hebei(api, db, origin)
    deliver(START + timedelta(hours=1, minutes=1))

    with time_machine.travel(START + timedelta(days=8), tick=False):  # Hebei's 7 days run out
        fired = sweep(utcnow())
    assert {"case_no": he_case, "clock": "reply", "rung": "overdue"} in fired  # still marked late, 督办 opens
    at_hebei = api.complaint(he_case, as_="he-supervisor")
    assert at_hebei["state"] == "handling"  # Hebei keeps it: Beijing sent it there
    assert _sent_by_hebei(db, "lead.transfer") == []
    deliver(START + timedelta(days=8, minutes=1))
    assert db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.bureau_code == "BJ")) == 1

    with time_machine.travel(START + timedelta(days=8, hours=1), tick=False):
        he_ok(api, he_case, "reply", "he-officer", result="已查处", text="已责令整改。")
    deliver(START + timedelta(days=8, hours=2))
    assert api.complaint(origin)["state"] == "handling"  # Beijing has Hebei's result
    assert api.events(origin)[-1]["data"]["result"] == "已查处"


def test_a_received_lead_cannot_be_transferred_on_and_its_result_still_reaches_the_origin(api, db):
    origin = transferred_case(api)
    deliver()
    he_case = _handling_at_hebei(api, db, origin)
    deliver()
    refused = he(api, he_case, "transfer", "he-officer", to_bureau="TJ", reason="污染源位于天津武清。")
    assert_error(refused, 409, "use_return_lead")
    assert "北京市生态环境局" in refused.json["message"] and origin in refused.json["message"]
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "handling"
    assert _sent_by_hebei(db, "lead.transfer") == []

    he_ok(api, he_case, "reply", "he-officer", result="经查污染源位于天津武清", text="请北京方面移送天津。")
    deliver()
    assert api.complaint(origin)["state"] == "handling"
    assert api.events(origin)[-1]["data"]["result"] == "经查污染源位于天津武清"


def test_a_received_lead_cannot_be_merged_away_without_its_origin_hearing(api, db):
    origin = transferred_case(api)
    deliver()
    he_case = linked_case(db, origin).case_no
    target = api.register(as_="he-intake", location={"address": "河北省廊坊市三河市燕郊镇"})["case_no"]
    assert_error(he(api, he_case, "merge", "he-intake", into=target), 409, "use_return_lead")
    he_ok(api, he_case, "accept", "he-intake")
    assert_error(he(api, he_case, "merge", "he-intake", into=target), 409, "use_return_lead")
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "accepted"
    # An ordinary case of Hebei's may still be merged into the lead.
    assert he_ok(api, target, "merge", "he-intake", into=he_case)["state"] == "merged"
