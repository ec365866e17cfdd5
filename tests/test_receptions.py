"""接访: a leader's reception day published, visitors recorded at it, linked to a case of the bureau or
registered as a new `visit` case in the same step; the visitors' names and phones masked like a
complainant's."""

import time_machine
from sqlalchemy import func, select

from ecoflow.complaints.models import Complaint, PersonalDataView
from ecoflow.extensions import db
from ecoflow.petitions.models import ReceptionVisitor

from .conftest import shanghai

DAY = {"leader_name": "李华", "leader_title": "副局长", "starts_at": "2026-11-10T09:00:00+08:00",
       "ends_at": "2026-11-10T11:30:00", "place": "市生态环境局一楼接待室"}  # fmt: skip
CASE = {
    "type": "complaint", "description": "村口的养殖场污水直排河道，夏天臭味很大。",
    "location": {"address": "北京市通州区永乐店镇柴厂屯村", "at_home": False},
}  # fmt: skip
VISITOR = {
    "name": "王建国",
    "phone": "13911112222",
    "subject": "养殖场污水直排",
    "answer": "当场答复：三日内派员核查。",
}


def publish(api, as_="bj-supervisor", **fields):
    response = api.post("/api/v1/receptions", as_, json={**DAY, **fields})
    assert response.status_code == 201, response.json
    return response.json


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_supervisor_publishes_a_leaders_reception_day_and_it_is_listed(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        day = publish(api)
        assert day["starts_at"] == "2026-11-10T01:00:00+00:00" and day["ends_at"] == "2026-11-10T03:30:00+00:00"
        listed = api.get("/api/v1/receptions", "bj-officer").json["items"]
        assert [(d["leader_name"], d["place"]) for d in listed] == [("李华", "市生态环境局一楼接待室")]
        assert api.get("/api/v1/receptions", "tj-supervisor").json["items"] == []  # another bureau's
        refused = api.post("/api/v1/receptions", "bj-officer", json=DAY)
        assert refused.status_code == 403 and refused.json["error"] == "role_not_allowed"
        wrong = api.post("/api/v1/receptions", "bj-leader", json={**DAY, "ends_at": "2026-11-10T08:00:00"})
        assert wrong.status_code == 422 and set(wrong.json) == {"error", "message", "details"}
        assert "ends_at" in wrong.json["details"]["fields"]
    with time_machine.travel(shanghai(2026, 11, 10, 12), tick=False):
        assert api.get("/api/v1/receptions", "bj-officer").json["items"] == []  # over


def test_a_visitor_is_linked_to_a_case_of_the_bureau_and_another_bureaus_case_is_refused(api):
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = api.register()["case_no"]
        theirs = api.register(as_="tj-intake", location={"address": "天津市和平区南京路100号", "at_home": False})
        day = publish(api, as_="bj-leader")
        url = f"/api/v1/receptions/{day['id']}/visitors"
        linked = api.post(url, "bj-leader", json={**VISITOR, "case_no": case_no})
        assert linked.status_code == 201, linked.json
        assert linked.json["case_no"] == case_no and linked.json["registered"] is False
        refused = api.post(url, "bj-leader", json={**VISITOR, "case_no": theirs["case_no"]})
        assert refused.status_code == 422 and refused.json["error"] == "not_this_bureau"
        neither = api.post(url, "bj-leader", json=VISITOR)
        assert neither.status_code == 422 and "case_no" in neither.json["details"]["fields"]
        assert api.post(url, "bj-officer", json={**VISITOR, "case_no": case_no}).status_code == 403
        assert api.post(f"/api/v1/receptions/{day['id']}/visitors", "tj-supervisor",
                        json={**VISITOR, "case_no": theirs["case_no"]}).status_code == 404  # fmt: skip
        visitors = api.get("/api/v1/receptions", "bj-supervisor").json["items"][0]["visitors"]
        assert [v["case_no"] for v in visitors] == [case_no]


def test_a_visitor_registers_a_new_visit_case_in_one_step_and_a_bad_field_writes_nothing(api):
    with time_machine.travel(shanghai(2026, 11, 10, 9, 30), tick=False):
        day = publish(api)
        url = f"/api/v1/receptions/{day['id']}/visitors"
        cases, visitors = count(Complaint), count(ReceptionVisitor)
        bad = api.post(url, "bj-leader", json={**VISITOR, "register": {**CASE, "type": "no-such-type"}})
        assert bad.status_code == 422 and "register" in bad.json["details"]["fields"]
        late = api.post(url, "bj-leader", json={**VISITOR, "register": {**CASE, "received_at": "2026-12-01T09:00:00"}})
        assert late.status_code == 422 and set(late.json) == {"error", "message", "details"}
        db.session.rollback()
        assert (count(Complaint), count(ReceptionVisitor)) == (cases, visitors)  # nothing half-written

        made = api.post(url, "bj-leader", json={**VISITOR, "register": CASE})
        assert made.status_code == 201, made.json
        assert made.json["registered"] is True
        case = api.complaint(made.json["case_no"], as_="bj-intake")
        assert case["channel"] == "visit" and case["complainant"]["name"] == "王建国"
        assert case["complainant"]["phone"] == "13911112222"


def test_visitors_names_and_phones_are_masked_for_those_without_need_and_unmasked_views_logged(api):
    with time_machine.travel(shanghai(2026, 11, 10, 9, 30), tick=False):
        day = publish(api)
        api.post(f"/api/v1/receptions/{day['id']}/visitors", "bj-leader", json={**VISITOR, "register": CASE})
        masked = api.get("/api/v1/receptions", "bj-officer").json["items"][0]["visitors"][0]
        assert masked["name"] != "王建国" and "王建国" not in str(masked) and "13911112222" not in str(masked)
        assert masked["phone"].endswith("2222") and masked["subject"] == "养殖场污水直排"
        before = count(PersonalDataView)
        seen = api.get("/api/v1/receptions", "bj-intake").json["items"][0]["visitors"][0]
        assert (seen["name"], seen["phone"]) == ("王建国", "13911112222")
        db.session.rollback()
        assert count(PersonalDataView) == before + 1
