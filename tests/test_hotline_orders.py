"""12345/12369 hotline centres push their orders in batches with their own key, over HTTP; each
order is answered on its own, and a re-sent batch creates nothing twice."""

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ecoflow.complaints.models import Complaint
from ecoflow.timeutil import SHANGHAI, utcnow

from .conftest import meet_after_first_call, run_together

DISTRICTS = ["北京市通州区梨园镇", "北京市朝阳区望京街道", "北京市海淀区学院路", "北京市大兴区亦庄镇"]


def order(n, **fields):
    received = (utcnow() - timedelta(hours=1)).astimezone(SHANGHAI).isoformat()
    return {
        "order_no": f"12345-20261122-{n:06d}", "received_at": received, "type": "投诉",
        "content": f"第{n}号工单：附近工厂夜间排放废气，异味很重。",
        "caller": {"name": "王五", "phone": f"1391234{n:04d}"},
        "address": f"{DISTRICTS[n % len(DISTRICTS)]}某小区{n}号楼", "category": "生态环境-大气污染", **fields,
    }  # fmt: skip


def post(url, body, key=None):
    """POST JSON over HTTP; (status, parsed body)."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + "/api/v1/intake/orders", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def count(db):
    """The complaints in the database; ends the read, so that the server's next write need not wait."""
    try:
        return db.session.scalar(select(func.count()).select_from(Complaint))
    finally:
        db.session.rollback()


def test_a_batch_of_1000_sent_twice_creates_1000_complaints(live_server, channel_key, db):
    key = channel_key("北京12345热线", "hotline_12345")
    batch = {"orders": [order(n) for n in range(1000)]}

    status, first = post(live_server, batch, key)

    assert status == 200, first
    assert (first["created"], first["already_received"], first["rejected"]) == (1000, 0, 0)
    assert count(db) == 1000
    case_nos = [a["case_no"] for a in first["results"]]
    assert len(set(case_nos)) == 1000

    status, second = post(live_server, batch, key)

    assert status == 200
    assert (second["created"], second["already_received"]) == (0, 1000)
    assert [a["case_no"] for a in second["results"]] == case_nos
    assert {a["status"] for a in second["results"]} == {"already_received"}
    assert count(db) == 1000


def test_each_order_is_answered_on_its_own(live_server, channel_key, db, api):
    key = channel_key("北京12345热线", "hotline_12345")
    earlier = api.register(location={"address": order(1)["address"]},
                           received_at=(utcnow() - timedelta(days=2)).isoformat(),
                           description="第1号工单：附近工厂夜间排放废气，异味很重。")  # fmt: skip
    future = (utcnow() + timedelta(days=1)).isoformat()
    orders = [
        order(1),
        {**order(2), "content": ""},
        order(3, received_at=future),
        order(1),  # the same order number again in the same batch
        order(5, address="河北省廊坊市三河市燕郊镇化工园", type="report"),
        order(6, address="火星基地"),
        "not an order",
        {**order(8), "priority": "high"},
    ]

    status, body = post(live_server, {"orders": orders}, key)

    assert status == 200
    results = body["results"]
    assert [r["status"] for r in results] == [
        "created", "rejected", "rejected", "already_received", "created", "created", "rejected", "rejected",
    ]  # fmt: skip
    assert [r["order_no"] for r in results][:6] == [o["order_no"] for o in orders[:6]]
    assert results[0]["duplicate_of"][0]["case_no"] == earlier["case_no"]
    assert "content" in results[1]["details"]["fields"]
    assert results[2]["reason"] == "受理时间不能晚于当前时间。"
    assert results[3]["case_no"] == results[0]["case_no"]
    assert results[4]["routing_flag"] == "cross_border"
    assert results[5]["routing_flag"] == "unparsed"
    assert results[7]["details"]["fields"] == {"priority": ["Unknown field."]}
    assert count(db) == 4  # the earlier one and three orders

    case = api.complaint(results[4]["case_no"], as_="bj-intake")
    assert (case["channel"], case["external_id"], case["type"]) == ("hotline_12345", order(5)["order_no"], "report")
    register = api.events(results[0]["case_no"])[0]
    assert register["actor"] == "system:北京12345热线"
    assert register["data"]["centre_category"] == "生态环境-大气污染"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "malformed_json"),
        ({"orders": "all of them"}, 422, "invalid"),
        ({"orders": []}, 422, "invalid"),
        ({"orders": [{}] * 1001}, 422, "invalid"),
        ({"orders": [], "extra": 1}, 422, "invalid"),
    ],
)
def test_a_malformed_batch_is_refused_whole(client, channel_key, body, status, error):
    key = channel_key("北京12345热线", "hotline_12345")
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}

    response = client.post("/api/v1/intake/orders", headers={"Authorization": f"Bearer {key}"}, **kwargs)

    assert (response.status_code, response.json["error"]) == (status, error)


def test_only_a_hotline_centre_key_is_accepted(client, channel_key, api, db):
    open311_key = channel_key("市民App", "online")
    officer = api.headers("bj-intake")["Authorization"]
    batch = {"orders": [order(1)]}

    for authorization in (None, "Bearer nonsense", f"Bearer {open311_key}", officer):
        headers = {"Authorization": authorization} if authorization else {}
        response = client.post("/api/v1/intake/orders", json=batch, headers=headers)
        assert (response.status_code, response.json["error"]) == (401, "bad_key")
    assert count(db) == 0


def test_the_cli_creates_a_centre_account_whose_token_works(runner, client, staff, db):
    result = runner.invoke(args=["ecoflow", "hotline-account", "create", "天津12369", "--line", "12369",
                                 "--bureau", "TJ"])  # fmt: skip
    assert result.exit_code == 0, result.output
    key = next(line for line in result.stdout.splitlines() if line.startswith("token: ")).split()[-1]

    response = client.post("/api/v1/intake/orders", json={"orders": [order(1, address="天津市武清区杨村街道")]},
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip

    assert response.json["created"] == 1
    case = db.session.scalar(select(Complaint))
    assert (case.bureau_code, case.channel, case.routing_flag) == ("TJ", "hotline_12369", None)
    again = runner.invoke(args=["ecoflow", "hotline-account", "create", "天津12369", "--line", "12369",
                                "--bureau", "TJ"])  # fmt: skip
    assert again.exit_code != 0 and "已有名为" in again.output

    revoked = runner.invoke(args=["ecoflow", "hotline-account", "revoke", "天津12369"])
    assert revoked.exit_code == 0, revoked.output
    response = client.post("/api/v1/intake/orders", json={"orders": [order(2)]},
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert response.status_code == 401
    assert runner.invoke(args=["ecoflow", "open311-key", "revoke", "天津12369"]).exit_code != 0


@pytest.mark.parametrize(
    "junk",
    [
        None, 7, [], {"order_no": None}, {**order(1), "caller": "王五"}, {**order(1), "order_no": "x\x00y"},
        {**order(1), "order_no": "9" * 65}, {**order(1), "received_at": "yesterday"}, {**order(1), "lat": "NaN"},
        {**order(1), "address": "地" * 201}, {**order(1), "type": "抱怨"}, {**order(1), "district": "11'; --"},
        {**order(1), "caller": {"phone": "call me"}}, {**order(1), "content": "\ud800"},
    ],
)  # fmt: skip
def test_a_junk_order_is_rejected_with_its_reason_and_writes_nothing(client, channel_key, db, junk):
    key = channel_key("北京12345热线", "hotline_12345")

    body = json.dumps({"orders": [junk, order(2)]})  # lone surrogates escaped, as JSON can carry them
    response = client.post("/api/v1/intake/orders", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip

    assert response.status_code == 200
    rejected, accepted = response.json["results"]
    assert rejected["status"] == "rejected" and rejected["reason"]
    assert accepted["status"] == "created"
    assert count(db) == 1


def test_two_batches_across_midnight_that_deadlock_on_the_day_counters_are_both_registered(
    app, db, staff, channel_key, monkeypatch
):
    from ecoflow.complaints import intake

    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and deadlocks: PostgreSQL only")
    keys = [channel_key("北京12345热线", "hotline_12345", "BJ"), channel_key("北京12369热线", "hotline_12369", "BJ")]
    db.session.rollback()
    before, after = "2026-11-21T23:59:00+08:00", "2026-11-22T00:01:00+08:00"
    # Each batch numbers its first order on one day and its second on the other, crosswise.
    batches = [[order(1, received_at=before), order(2, received_at=after)],
               [order(3, received_at=after), order(4, received_at=before)]]  # fmt: skip
    meet_after_first_call(monkeypatch, intake, "_next_case_no")  # both hold their first day's counter
    answers = [None, None]

    def send(i):
        response = app.test_client().post("/api/v1/intake/orders", json={"orders": batches[i]},
                                          headers={"Authorization": f"Bearer {keys[i]}"})  # fmt: skip
        answers[i] = response.status_code, response.get_json()

    run_together(lambda: send(0), lambda: send(1))
    assert [status for status, _ in answers] == [200, 200]
    assert all(body["created"] == 2 for _, body in answers)
    numbers = db.session.scalars(select(Complaint.case_no).order_by(Complaint.case_no)).all()
    assert numbers == ["BJ-20261121-0001", "BJ-20261121-0002", "BJ-20261122-0001", "BJ-20261122-0002"]
