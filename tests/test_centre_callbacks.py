"""回单: what a hotline centre hears back about its orders, over real HTTP to a fake centre that
checks every signature; once and in order per case, whether the centre is down, slow, answering 500
or dies in the middle of a call."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from sqlalchemy import select

from ecoflow.exchange.models import OutboxMessage
from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.intake.models import ChannelClient
from ecoflow.intake.services import create_client
from ecoflow.notifications.models import Notification
from ecoflow.officers.models import Officer
from ecoflow.timeutil import utcnow

from .conftest import Api, shanghai

START = shanghai(2026, 11, 2, 9)  # a Monday


class FakeCentre:
    """The centre's receiving end on a loopback port. `mode`: ok, error (500), slow (takes the call,
    answers after the caller gave up), kill (reads the call and hangs up without an answer), down."""

    def __init__(self, port=0):
        self.secret = None
        self.mode = "ok"
        self.calls = []  # every call that reached it: (headers, body)
        self.taken = {}  # idempotency_key -> body, as a centre that deduplicates keeps them
        self.order = []  # bodies in the order first taken
        self.forged = 0
        centre = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                centre.calls.append((self.headers, body))
                if centre.mode == "kill":
                    self.connection.close()
                    return
                if centre.mode == "error":
                    self.send_error(500)
                    return
                timestamp = self.headers["X-EcoFlow-Timestamp"]
                expected = hmac.new(centre.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
                if not hmac.compare_digest("sha256=" + expected.hexdigest(), self.headers["X-EcoFlow-Signature"]):
                    centre.forged += 1
                    self.send_error(401)
                    return
                message = json.loads(body)
                if message["idempotency_key"] not in centre.taken:
                    centre.taken[message["idempotency_key"]] = message
                    centre.order.append(message)
                if centre.mode == "slow":
                    time.sleep(1.5)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/huidan"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self, case_no=None):
        return [m["event"] for m in self.order if case_no is None or m["case_no"] == case_no]


@pytest.fixture
def centre(app, db, staff, monkeypatch):
    """A 12345 centre account of Beijing whose 回单 go to a fake centre (its token in `key`)."""
    monkeypatch.setitem(app.config, "EXCHANGE_TIMEOUT_SECONDS", 0.5)
    fake = FakeCentre()
    account, key = create_client("北京12345热线", "hotline_12345", "BJ", callback_url=fake.url)
    fake.secret = account.secret
    db.session.commit()
    fake.key = key
    yield fake
    fake.stop()


def order_in(client, key, n=1, **fields):
    """The centre files an order; its case number."""
    order = {
        "order_no": f"12345-20261102-{n:06d}", "received_at": START.isoformat(), "type": "投诉",
        "content": "小区旁工厂每晚排放废气，异味刺鼻。",
        "caller": {"name": "张三", "phone": "13812345678", "notify": False},
        "address": "北京市通州区梨园镇云景里小区", **fields,
    }  # fmt: skip
    response = client.post(
        "/api/v1/intake/orders", json={"orders": [order]}, headers={"Authorization": f"Bearer {key}"}
    )
    (result,) = response.json["results"]
    assert result["status"] == "created", result
    return result["case_no"]


def to_handling(api, case_no):
    api.ok(case_no, "accept", "bj-intake")
    api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general",
           categories=["air"])  # fmt: skip
    api.ok(case_no, "sign", "bj-officer")


def deliver(at):
    with time_machine.travel(at, tick=False):
        return deliver_outbox(utcnow())


def test_each_event_goes_back_to_the_centre_once_signed_and_in_order(api, client, centre):
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        api.ok(case_no, "request_extension", "bj-officer", days=5, reason="需委托监测机构采样化验。")
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=True, note="同意延期")
        api.ok(case_no, "reply", "bj-officer", result="已责令工厂整改", text="经现场检查，该厂已停产整改。")
        order_no = "12345-20261102-000001"
        body = {"resolved": False, "satisfaction": "unsatisfied", "note": "仍有异味"}
        assert centre_call(client, centre, order_no, body).status_code == 200
        api.ok(case_no, "reply", "bj-officer", result="已立案处罚", text="已对该厂立案处罚并复查。")
        assert centre_call(client, centre, order_no, {"resolved": True, "satisfaction": "satisfied"}).status_code == 200
        api.ok(case_no, "reopen", "bj-supervisor", reason="群众再次反映，督办重办。")
        refused = order_in(client, centre.key, n=2, content="咨询社保缴费。")
        api.ok(refused, "reject", "bj-intake", reason="不属于生态环境部门职责。", referred_to="市人力社保局")

    assert deliver(START + timedelta(minutes=1)) == 9
    assert centre.events(case_no) == ["signed", "extension_requested", "extension_decided", "replied", "reopened",
                                      "replied", "closed", "reopened"]  # fmt: skip
    assert centre.events(refused) == ["rejected"]
    assert centre.forged == 0 and len(centre.calls) == 9
    first = centre.order[0]
    assert first["order_no"] == "12345-20261102-000001" and first["case_no"] == case_no
    assert first["unit"] == "通州分局" and first["at"].startswith("2026-11-02T01:00:00")
    decided = centre.order[2]
    assert decided["approved"] is True and decided["reply_due_at"]
    reply = centre.order[3]
    assert (reply["result"], reply["text"]) == ("已责令工厂整改", "经现场检查，该厂已停产整改。")
    assert centre.order[4]["satisfaction"] == "unsatisfied"
    rejected = centre.order[-1]
    assert (rejected["reason"], rejected["referred_to"]) == ("不属于生态环境部门职责。", "市人力社保局")
    for headers, _ in centre.calls:
        assert abs(int(headers["X-EcoFlow-Timestamp"]) - START.timestamp() - 60) < 2

    assert deliver(START + timedelta(minutes=2)) == 0  # nothing sent twice
    assert len(centre.calls) == 9


def test_a_transfer_tells_the_centre_which_bureau_has_it(api, client, centre):
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        api.ok(case_no, "transfer", "bj-officer", to_bureau="HE", reason="污染源位于三河市燕郊镇。")
    deliver(START + timedelta(minutes=1))
    transferred = centre.order[-1]
    assert (transferred["event"], transferred["to_bureau"], transferred["to_bureau_name"]) == (
        "transferred", "HE", "河北省生态环境厅")  # fmt: skip


def test_a_centre_down_slow_failing_or_dying_mid_call_gets_every_huidan_once_and_in_order(
    api, client, centre, app, monkeypatch
):
    monkeypatch.setitem(app.config, "EXCHANGE_BACKOFF_SECONDS", 1)
    monkeypatch.setitem(app.config, "EXCHANGE_BACKOFF_MAX_SECONDS", 1)
    with time_machine.travel(START, tick=False):
        cases = [order_in(client, centre.key, n=n) for n in (1, 2)]
        for case_no in cases:
            to_handling(api, case_no)
            api.ok(case_no, "reply", "bj-officer", result="已处理", text="已责令整改。")
    at = START + timedelta(minutes=1)
    for mode in ("error", "kill", "slow"):
        centre.mode = mode
        at += timedelta(minutes=1)
        assert deliver(at) == 0, mode
    centre.stop()  # down: nobody listens
    at += timedelta(minutes=1)
    assert deliver(at) == 0

    back = FakeCentre(port=centre.server.server_port)  # back up, with what it had taken
    back.secret, back.order, back.taken = centre.secret, centre.order, centre.taken
    try:
        at += timedelta(minutes=1)
        assert deliver(at) == 4
        for case_no in cases:
            assert back.events(case_no) == ["signed", "replied"]
        assert len(back.taken) == 4  # the slow call was taken, then sent again: the centre kept it once
        assert deliver(at + timedelta(minutes=1)) == 0
    finally:
        back.stop()


def test_a_huidan_the_centre_never_takes_is_dead_a_supervisor_is_told_and_a_retry_sends_it(
    api, client, centre, app, db, monkeypatch
):
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_ATTEMPTS", 2)
    monkeypatch.setitem(app.config, "EXCHANGE_BACKOFF_SECONDS", 1)
    centre.mode = "error"
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        api.ok(case_no, "reply", "bj-officer", result="已处理", text="已责令整改。")
    deliver(START + timedelta(minutes=1))
    deliver(START + timedelta(minutes=2))
    signed = db.session.scalar(select(OutboxMessage).where(OutboxMessage.type == "centre.signed"))
    assert signed.state == "dead" and "HTTP 500" in signed.last_error
    notice = db.session.scalar(select(Notification).where(Notification.kind == "exchange_dead"))
    assert "发往北京12345热线的回单" in notice.message and "@" not in notice.message
    with time_machine.travel(START + timedelta(minutes=3), tick=False):
        status = api.get("/api/v1/exchange/status", "bj-supervisor").json
    assert status["centres"]["北京12345热线"]["outbox"] == {"queued": 1, "failing": 0, "delivered": 0, "dead": 1}
    db.session.rollback()

    centre.mode = "ok"
    assert deliver(START + timedelta(hours=1)) == 0  # the reply waits behind its dead 签收
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        response = api.post(f"/api/v1/exchange/outbox/{signed.message_id}/retry", "bj-supervisor")
    assert response.status_code == 200, response.json
    assert deliver(START + timedelta(hours=1, minutes=1)) == 2
    assert centre.events(case_no) == ["signed", "replied"]


def test_a_case_of_a_centre_without_a_callback_url_or_typed_in_by_hand_queues_nothing(api, client, db, staff):
    _, key = create_client("北京12369热线", "hotline_12369", "BJ")
    db.session.commit()
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, key)
        to_handling(api, case_no)
        typed = api.register()["case_no"]  # a 12345 call typed in by intake: no order number
        api.ok(typed, "reject", "bj-intake", reason="重复")
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_the_cli_prints_the_token_and_the_secret_and_refuses_plain_http_elsewhere(runner, db, staff):
    args = ["ecoflow", "hotline-account", "create", "北京12345热线", "--line", "12345", "--bureau", "BJ"]
    refused = runner.invoke(args=[*args, "--callback-url", "http://centre.example.com/huidan"])
    assert refused.exit_code != 0 and "https://" in refused.output
    result = runner.invoke(args=[*args, "--callback-url", "https://centre.example.com/huidan"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    account = db.session.scalar(select(ChannelClient))
    assert lines["secret"] == account.secret and len(account.secret) == 64
    assert lines["token"].startswith("ecf_")
    assert account.callback_url == "https://centre.example.com/huidan"


# --- the centre's 回访 comes in ----------------------------------------------------------------


def centre_call(client, centre, order_no, body, *, at=None, secret=None, headers=None, call="follow-up"):
    """The centre POSTs its 回访 result (or another `call`: urge, extension-decision), signed as
    docs/centres.md says (at `at`, with `secret`)."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    timestamp = int((at or utcnow()).timestamp())
    signature = hmac.new((secret or centre.secret).encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    sent = {"Authorization": f"Bearer {centre.key}", "Content-Type": "application/json",
            "X-EcoFlow-Timestamp": str(timestamp), "X-EcoFlow-Signature": "sha256=" + signature.hexdigest(),
            **(headers or {})}  # fmt: skip
    return client.post(f"/api/v1/intake/orders/{order_no}/{call}", data=raw, headers=sent)


def replied_case(api, client, centre, n=1):
    case_no = order_in(client, centre.key, n=n)
    to_handling(api, case_no)
    api.ok(case_no, "reply", "bj-officer", result="已责令工厂整改", text="经现场检查，该厂已停产整改。")
    return case_no


def test_the_centres_follow_up_closes_the_case_once_and_intake_no_longer_types_it(api, client, centre):
    with time_machine.travel(START, tick=False):
        case_no = replied_case(api, client, centre)
        offered = api.get(f"/api/v1/complaints/{case_no}", "bj-intake").json["allowed_actions"]
        assert "follow_up" not in offered
        typed = api.act(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
        assert (typed.status_code, typed.json["error"]) == (409, "centre_follows_up")
        assert "北京12345热线" in typed.json["message"]

        response = centre_call(client, centre, "12345-20261102-000001", {"resolved": True, "satisfaction": "satisfied",
                                                                         "note": "市民表示满意"})  # fmt: skip
        assert response.status_code == 200, response.json
        assert (response.json["case_no"], response.json["state"]) == (case_no, "closed")
        event = api.events(case_no)[-1]
        assert (event["action"], event["data"]["note"]) == ("follow_up", "市民表示满意")

    with time_machine.travel(START + timedelta(seconds=1), tick=False):
        again = centre_call(client, centre, "12345-20261102-000001", {"resolved": True, "satisfaction": "satisfied"})
    assert (again.status_code, again.json["error"]) == (409, "action_not_allowed")


def test_an_unsatisfied_follow_up_from_the_centre_reopens_the_case(api, client, centre):
    with time_machine.travel(START, tick=False):
        case_no = replied_case(api, client, centre)
        response = centre_call(client, centre, "12345-20261102-000001", {"resolved": False,
                                                                         "satisfaction": "unsatisfied"})  # fmt: skip
        assert response.json["state"] == "handling"
        assert api.complaint(case_no)["reopen_count"] == 1


def test_a_replayed_forged_stale_or_misdirected_call_is_refused_and_changes_nothing(api, client, centre, staff, db):
    body = {"resolved": False, "satisfaction": "unsatisfied"}
    with time_machine.travel(START, tick=False):
        case_no = replied_case(api, client, centre)
        tianjin, tianjin_key = create_client("天津12345热线", "hotline_12345", "TJ", callback_url=centre.url)
        tianjin_secret = tianjin.secret
        db.session.commit()
        version = api.complaint(case_no)["version"]

        forged = centre_call(client, centre, "12345-20261102-000001", body, secret="0" * 64)
        stale = centre_call(client, centre, "12345-20261102-000001", body, at=START - timedelta(minutes=6))
        unsigned = centre_call(client, centre, "12345-20261102-000001", body, headers={"X-EcoFlow-Signature": ""})
        for refused in (forged, stale, unsigned):
            assert (refused.status_code, refused.json["error"]) == (401, "bad_signature")
        unknown = centre_call(client, centre, "12345-20261102-999999", body)
        assert (unknown.status_code, unknown.json["error"]) == (404, "unknown_order")
        centre.key, own_key = tianjin_key, centre.key  # Tianjin's centre, with Beijing's order number
        misdirected = centre_call(client, centre, "12345-20261102-000001", body, secret=tianjin_secret)
        assert (misdirected.status_code, misdirected.json["error"]) == (404, "unknown_order")
        centre.key = own_key
        bad = centre_call(client, centre, "12345-20261102-000001", {"resolved": "perhaps", "satisfaction": "x"})
        assert bad.status_code == 422 and set(bad.json["details"]["fields"]) == {"resolved", "satisfaction"}
        assert api.complaint(case_no)["version"] == version

        first = centre_call(client, centre, "12345-20261102-000001", {"resolved": True, "satisfaction": "satisfied"})
        assert first.status_code == 200
        api.ok(case_no, "reopen", "bj-supervisor", reason="督办重办。")
        api.ok(case_no, "reply", "bj-officer", result="已复查", text="已复查整改情况。")
        version = api.complaint(case_no)["version"]
        replayed = centre_call(client, centre, "12345-20261102-000001", {"resolved": True, "satisfaction": "satisfied"})
    assert (replayed.status_code, replayed.json["error"]) == (401, "replayed")
    assert api.complaint(case_no)["version"] == version and api.complaint(case_no)["state"] == "replied"


def test_intake_still_types_the_follow_up_of_a_case_no_centre_answers_for(api, db):
    case_no = api.to_handling()  # phoned in and typed by intake: no centre hears back
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已责令整改。")
    assert api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")["state"] == "closed"


# --- the centre's 催办 and its decision on an extension -------------------------------------------


def notices(db, kind):
    """(username, message) of each notification of this kind."""
    rows = db.session.execute(
        select(Officer.username, Notification.message).join(Officer, Officer.id == Notification.officer_id)
        .where(Notification.kind == kind).order_by(Notification.id)
    )  # fmt: skip
    return [tuple(row) for row in rows]


def test_the_centres_urge_tells_the_officer_and_the_unit_as_a_supervision(api, client, centre, db):
    order_no = "12345-20261102-000001"
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        response = centre_call(client, centre, order_no, {"note": "市民再次来电催促，请尽快处理。"}, call="urge")
    assert response.status_code == 200, response.json
    assert (response.json["case_no"], response.json["state"]) == (case_no, "handling")
    told = notices(db, "supervise")
    assert {who for who, _ in told} == {"bj-officer", "bj-supervisor"}
    assert all(case_no in message and "市民再次来电催促" in message for _, message in told)
    event = api.events(case_no)[-1]
    assert (event["action"], event["data"]["note"]) == ("supervise", "市民再次来电催促，请尽快处理。")
    board = api.get("/api/v1/supervision/overdue", "bj-supervisor")  # the board reads; the 督办 is on the record
    assert board.status_code == 200

    with time_machine.travel(START + timedelta(seconds=5), tick=False):
        version = api.complaint(case_no)["version"]
        body = {"note": "再催"}
        forged = centre_call(client, centre, order_no, body, secret="0" * 64, call="urge")
        assert (forged.status_code, forged.json["error"]) == (401, "bad_signature")
        unknown = centre_call(client, centre, "12345-20261102-999999", body, call="urge")
        assert (unknown.status_code, unknown.json["error"]) == (404, "unknown_order")
        empty = centre_call(client, centre, order_no, {}, call="urge")
        assert empty.status_code == 422 and set(empty.json["details"]["fields"]) == {"note"}
        at = START + timedelta(seconds=6)
        assert centre_call(client, centre, order_no, body, at=at, call="urge").status_code == 200
        replayed = centre_call(client, centre, order_no, body, at=at, call="urge")
        assert (replayed.status_code, replayed.json["error"]) == (401, "replayed")
    assert len(notices(db, "supervise")) == 4  # the first and the second urge, to two people each
    assert api.complaint(case_no)["version"] == version + 1


def test_another_centres_order_cannot_be_urged_or_decided(api, client, centre, db):
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        api.ok(case_no, "request_extension", "bj-officer", days=5, reason="需委托监测机构采样化验。")
        tianjin, tianjin_key = create_client("天津12345热线", "hotline_12345", "TJ", callback_url=centre.url,
                                             decides_extensions=True)  # fmt: skip
        tianjin_secret = tianjin.secret
        db.session.commit()
        version = api.complaint(case_no)["version"]
        centre.key = tianjin_key
        for call, body in (("urge", {"note": "催办"}), ("extension-decision", {"approved": True})):
            response = centre_call(client, centre, "12345-20261102-000001", body, secret=tianjin_secret, call=call)
            assert (response.status_code, response.json["error"]) == (404, "unknown_order")
    assert api.complaint(case_no)["version"] == version and notices(db, "supervise") == []


def reply_due(complaint):
    (due,) = [c["due_at"] for c in complaint["clocks"] if c["kind"] == "reply" and not c["stopped_at"]]
    return due


@pytest.fixture
def deciding_centre(app, db, staff, monkeypatch):
    """A 12345 centre of Beijing that decides the extensions of its orders itself."""
    monkeypatch.setitem(app.config, "EXCHANGE_TIMEOUT_SECONDS", 0.5)
    fake = FakeCentre()
    account, key = create_client("北京12345热线", "hotline_12345", "BJ", callback_url=fake.url,
                                 decides_extensions=True)  # fmt: skip
    fake.secret, fake.key = account.secret, key
    db.session.commit()
    yield fake
    fake.stop()


def test_a_centre_that_decides_extensions_approves_or_refuses_them_and_the_bureau_does_not(
    api, client, deciding_centre
):
    centre = deciding_centre
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        due = reply_due(api.complaint(case_no))
        api.ok(case_no, "request_extension", "bj-officer", days=5, reason="需委托监测机构采样化验。")
        assert "approve_extension" not in api.complaint(case_no, "bj-supervisor")["allowed_actions"]
        typed = api.act(case_no, "approve_extension", "bj-supervisor", approved=True)
        assert (typed.status_code, typed.json["error"]) == (409, "centre_decides_extensions")
        assert "北京12345热线" in typed.json["message"]

        call = "extension-decision"
        bad = centre_call(client, centre, "12345-20261102-000001", {"approved": "maybe"}, call=call)
        assert bad.status_code == 422 and set(bad.json["details"]["fields"]) == {"approved"}
        decided = centre_call(client, centre, "12345-20261102-000001", {"approved": True, "note": "同意延期5天"},
                              call=call)  # fmt: skip
        assert decided.status_code == 200, decided.json
        event = api.events(case_no)[-1]
        assert (event["action"], event["data"]["approved"], event["data"]["note"]) == (
            "approve_extension", True, "同意延期5天")  # fmt: skip
        assert reply_due(api.complaint(case_no)) > due

    with time_machine.travel(START + timedelta(seconds=1), tick=False):
        again = centre_call(client, centre, "12345-20261102-000001", {"approved": False}, call=call)
    assert (again.status_code, again.json["error"]) == (409, "no_pending_extension")

    with time_machine.travel(START + timedelta(seconds=2), tick=False):
        api.ok(case_no, "request_extension", "bj-officer", days=3, reason="仍需补充监测。")
        refused = centre_call(client, centre, "12345-20261102-000001", {"approved": False, "note": "不同意"}, call=call)
        assert refused.status_code == 200
        assert api.events(case_no)[-1]["data"]["approved"] is False
    deliver(START + timedelta(minutes=1))
    assert centre.events(case_no) == ["signed", "extension_requested", "extension_decided", "extension_requested",
                                      "extension_decided"]  # fmt: skip
    assert [m.get("approved") for m in centre.order if m["event"] == "extension_decided"] == [True, False]


def test_a_centre_that_does_not_decide_extensions_cannot_and_the_supervisor_still_does(api, client, centre):
    with time_machine.travel(START, tick=False):
        case_no = order_in(client, centre.key)
        to_handling(api, case_no)
        api.ok(case_no, "request_extension", "bj-officer", days=5, reason="需委托监测机构采样化验。")
        refused = centre_call(client, centre, "12345-20261102-000001", {"approved": True}, call="extension-decision")
        assert (refused.status_code, refused.json["error"]) == (409, "bureau_decides_extensions")
        assert "approve_extension" in api.complaint(case_no)["allowed_actions"]
        api.ok(case_no, "approve_extension", "bj-supervisor", approved=True)


def test_a_centre_that_decides_extensions_needs_a_callback_url(runner, staff):
    result = runner.invoke(args=["ecoflow", "hotline-account", "create", "北京12345热线", "--line", "12345",
                                 "--bureau", "BJ", "--decides-extensions"])  # fmt: skip
    assert result.exit_code != 0 and "回调地址" in result.output
    result = runner.invoke(args=["ecoflow", "hotline-account", "create", "北京12345热线", "--line", "12345",
                                 "--bureau", "BJ", "--decides-extensions", "--callback-url",
                                 "https://centre.example.com/huidan"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert centre_account_decides("北京12345热线")


def centre_account_decides(name):
    from ecoflow.extensions import db

    return db.session.scalar(select(ChannelClient.decides_extensions).where(ChannelClient.name == name))


# --- the reply's attachments, fetched by the centre over HTTP -----------------------------------


def test_the_reply_huidan_carries_links_the_centre_fetches_over_http(app, staff, centre, live_server, monkeypatch):
    import urllib.error
    import urllib.request

    from PIL import Image

    from .test_evidence import PDF, jpeg_with_gps, upload
    from .test_web import ThreadedClient

    monkeypatch.setitem(app.config, "PUBLIC_URL", live_server)
    api = Api(ThreadedClient(app.test_client()))
    with time_machine.travel(START, tick=False):
        case_no = order_in(api.client, centre.key)
        to_handling(api, case_no)
        photo = upload(api, case_no, jpeg_with_gps()).json
        report = upload(api, case_no, PDF, name="监测报告.pdf", kind="document").json
        upload(api, case_no, PDF, name="未选的材料.pdf", kind="document")  # not chosen: not sent
        api.ok(case_no, "reply", "bj-officer", result="已责令工厂整改", text="经现场检查，该厂已停产整改。",
               attachments=[photo["id"], report["id"]])  # fmt: skip
    deliver(START + timedelta(minutes=1))
    (replied,) = [m for m in centre.order if m["event"] == "replied"]
    files = replied["attachments"]
    assert [(f["name"], f["kind"]) for f in files] == [("photo.jpg", "photo"), ("监测报告.pdf", "document")]
    assert all(f["url"].startswith(live_server + "/api/v1/intake/files/") for f in files)

    def fetch(url):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, refused.read()

    with time_machine.travel(START + timedelta(days=1)):
        status, content = fetch(files[0]["url"])
        assert status == 200 and hashlib.sha256(content).hexdigest() == files[0]["sha256"] != photo["sha256"]
        image = Image.open(io.BytesIO(content))
        assert 0x8825 not in image.getexif() and 0x010F not in image.getexif()  # no GPS, no camera
        status, content = fetch(files[1]["url"])
        assert (status, content) == (200, PDF)
        token = files[1]["url"].rsplit("/", 1)[1]
        for forged in (files[1]["url"][:-2] + "xx", f"{live_server}/api/v1/intake/files/{token[::-1]}"):
            status, content = fetch(forged)
            assert status == 404 and json.loads(content)["error"] == "unknown_file"
    with time_machine.travel(START + timedelta(days=15)):
        assert fetch(files[1]["url"])[0] == 404  # expired
