"""The exchange inside the unified platform (all three bureaus in one instance, no HTTP): the lead
flow end to end, what travels, the 签收 clock, idempotency, refusals, dead letters and retry."""

import json
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from ecoflow.complaints.models import Complaint
from ecoflow.escalation.jobs import sweep
from ecoflow.exchange.envelope import new_envelope
from ecoflow.exchange.models import ExchangeRejection, InboxMessage, OutboxMessage
from ecoflow.exchange.outbox import deliver_outbox, enqueue
from ecoflow.exchange.trust import Peer, get_trust
from ecoflow.notifications.models import Notification
from ecoflow.timeutil import utcnow

from .conftest import COMPLAINT, shanghai
from .test_hostile_input import assert_error

START = shanghai(2026, 11, 2, 9)  # a Monday
COMPLAINT_ADDRESS = COMPLAINT["location"]["address"]


def deliver(at=None):
    with time_machine.travel(at or utcnow(), tick=False):
        return deliver_outbox(utcnow())


def linked_case(db, origin_case_no):
    return db.session.scalar(select(Complaint).where(Complaint.peer_case_no == origin_case_no))


def he(api, case_no, action, as_, **fields):
    """An action on a Hebei case, with the version Hebei sees."""
    version = api.complaint(case_no, as_="he-supervisor")["version"]
    return api.act(case_no, action, as_, version=version, **fields)


def he_ok(api, case_no, action, as_, **fields):
    response = he(api, case_no, action, as_, **fields)
    assert response.status_code == 200, (action, response.json)
    return response.json


def transferred_case(api, callback=True, **fields):
    case_no = api.to_handling(**fields)
    api.ok(case_no, "transfer", "bj-officer", to_bureau="HE", reason="污染源位于三河市燕郊镇，属河北管辖。",
           callback=callback, suspected_source="燕郊镇化工园某化工厂", asks="请核查并反馈处理结果")  # fmt: skip
    return case_no


def test_a_lead_goes_to_hebei_and_the_result_comes_back_to_closure_on_both_sides(api, db):
    with time_machine.travel(START, tick=False):
        origin = transferred_case(api)
        assert api.complaint(origin)["state"] == "transferred"
    assert deliver(START + timedelta(minutes=1)) == 1

    lead = linked_case(db, origin)
    assert (lead.bureau_code, lead.channel, lead.peer_bureau, lead.state) == ("HE", "peer_transfer", "BJ", "received")
    he_case = lead.case_no
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        he_ok(api, he_case, "sign_lead", "he-intake")
        he_ok(api, he_case, "accept", "he-intake")
        he_ok(api, he_case, "assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="general",
               categories=["air"])  # fmt: skip
        he_ok(api, he_case, "sign", "he-officer")
        he_ok(api, he_case, "reply", "he-officer", result="已查实，责令化工厂停产整改",
               text="经三河市分局现场检查，该厂废气处理设施未运行，已责令停产整改并立案处罚。")  # fmt: skip
    # Hebei's answer goes to Beijing, whose complainant it is: no 回访 at Hebei, its case waits.
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "awaiting_origin"
    assert deliver(START + timedelta(hours=3)) == 3  # signed, accepted, result

    with time_machine.travel(START + timedelta(hours=4), tick=False):
        back = api.complaint(origin)
        assert back["state"] == "handling"
        timeline = [e["action"] for e in api.events(origin)]
        assert timeline[-3:] == ["lead_signed", "lead_accepted", "lead_result"]
        result = api.events(origin)[-1]["data"]
        assert result["result"] == "已查实，责令化工厂停产整改" and result["peer_case_no"] == he_case
        api.ok(origin, "reply", "bj-officer", result="已由河北省生态环境厅查处", text="您反映的问题已由河北方面查处。")
        closed = api.ok(origin, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    assert closed["state"] == "closed"
    assert deliver(START + timedelta(hours=5)) == 1  # lead.closed: Hebei's case follows
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "closed"
    assert api.events(he_case, as_="he-supervisor")[-1]["action"] == "close_lead"
    assert deliver(START + timedelta(hours=6)) == 0  # nothing left, nothing sent twice
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 5


def test_a_lead_without_the_complainants_agreement_carries_no_name_or_phone(api, db, monkeypatch):
    sent = []
    from ecoflow.exchange import transport

    real = transport.send_local
    monkeypatch.setattr(transport, "send_local", lambda envelopes, now: sent.append(json.dumps(envelopes)) or real(
        envelopes, now))  # fmt: skip
    transferred_case(api, callback=False)
    deliver()
    wire = "".join(sent)
    assert "lead.transfer" in wire
    assert "张三" not in wire and "13812345678" not in wire
    (envelope,) = json.loads(sent[0])
    assert "complainant" not in envelope["payload"]
    assert envelope["payload"]["location"]["address"] == "北京市通州区****"  # nor the exact address
    assert linked_case(db, db.session.scalar(select(Complaint.case_no).where(Complaint.bureau_code == "BJ")))


def test_without_the_agreement_the_name_and_phone_are_masked_in_the_free_text_of_the_lead(api, db, monkeypatch):
    sent = []
    from ecoflow.exchange import transport

    real = transport.send_local
    monkeypatch.setattr(transport, "send_local", lambda envelopes, now: sent.append(json.dumps(
        envelopes, ensure_ascii=False)) or real(envelopes, now))  # fmt: skip
    case_no = api.to_handling(description="张三（13812345678）反映工厂排放废气，邻居李四 13900001111 也闻到。")
    api.ok(case_no, "transfer", "bj-officer", to_bureau="HE", callback=False, reason="张三要求河北核查。",
           suspected_source="燕郊镇某化工厂", asks="请联系 13812345678 核实")  # fmt: skip
    deliver()
    wire = "".join(sent)
    assert "lead.transfer" in wire and "反映工厂排放废气" in wire
    for secret in ("张三", "13812345678", "13900001111"):
        assert secret not in wire
    assert "138****5678" in wire


def test_with_the_agreement_the_contact_travels_to_the_receiving_officer(api, db):
    origin = transferred_case(api, callback=True)
    deliver()
    lead = linked_case(db, origin)
    assert (lead.complainant_name, lead.complainant_phone, lead.callback_consent) == ("张三", "13812345678", True)


def test_a_lead_not_signed_for_in_24_hours_blows_a_whistle_at_the_receiving_bureau(api, db):
    with time_machine.travel(START, tick=False):
        origin = transferred_case(api)
    deliver(START + timedelta(minutes=1))
    he_case = linked_case(db, origin).case_no
    with time_machine.travel(START + timedelta(hours=31), tick=False):
        fired = sweep(utcnow())
    rungs = [(f["clock"], f["rung"]) for f in fired if f.get("case_no") == he_case]
    assert ("lead_sign", "overdue") in rungs and ("lead_sign", "whistle") in rungs
    whistles = api.get(f"/api/v1/whistles?case_no={he_case}", "he-supervisor").json
    assert len(whistles) == 1
    parties = {(p["party"], p["bureau"]) for p in whistles[0]["parties"]}
    # Hebei's own leader and supervision office: the lateness is Hebei's, Beijing is not summoned for it ...
    assert parties == {("unit_leader", "HE"), ("supervision_office", "HE")}
    # (Beijing's own late first contact whistles at Beijing: summoning Beijing's parties, never Hebei.)
    at_beijing = api.get(f"/api/v1/whistles?case_no={origin}", "bj-supervisor").json
    assert {p["bureau"] for w in at_beijing for p in w["parties"]} <= {"BJ"}
    assert not db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.type == "whistle.blow"))  # fmt: skip
    # ... and sees it on its transferred case.
    deliver(START + timedelta(hours=31, minutes=1))
    late = [e for e in api.events(origin) if e["action"] == "lead_late"]
    assert [(e["data"]["clock"], e["data"]["peer_case_no"]) for e in late] == [("lead_sign", he_case)]


def test_a_whistle_summons_the_peer_bureau_whose_report_in_comes_back_over_the_exchange(api, db):
    origin = transferred_case(api)
    deliver()
    he_case = linked_case(db, origin).case_no
    he_ok(api, he_case, "accept", "he-intake")
    deliver()
    blown = api.ok(origin, "whistle", "bj-supervisor", reason="线索移送后企业仍在夜间偷排，请河北方面联合执法。",
                   parties=["supervision_office", "peer_bureau"])  # fmt: skip
    assert blown["state"] == "transferred"
    deliver()
    (at_hebei,) = api.get(f"/api/v1/whistles?case_no={he_case}", "he-supervisor").json
    assert "BJ 吹哨" in at_hebei["reason"] and {p["bureau"] for p in at_hebei["parties"]} == {"HE"}
    reported = api.post(f"/api/v1/whistles/{at_hebei['id']}/report-in", "he-supervisor",
                        json={"who_will_act": "三河市分局执法大队今晚联合检查"})  # fmt: skip
    assert reported.status_code == 200, reported.json
    deliver()
    (at_beijing,) = api.get(f"/api/v1/whistles?case_no={origin}", "bj-supervisor").json
    peer = next(p for p in at_beijing["parties"] if p["party"] == "peer_bureau")
    assert peer["bureau"] == "HE" and peer["who_will_act"] == "三河市分局执法大队今晚联合检查"
    assert peer["reported_at"] is not None
    # Nothing bounces back: Hebei's whistle summoned no one in Beijing.
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.type == "whistle.blow")) == 1  # fmt: skip


def test_a_whistle_on_a_lead_sent_without_consent_carries_no_name_or_phone_in_its_reason(api, db):
    origin = transferred_case(api, callback=False)
    deliver()
    he_case = linked_case(db, origin).case_no
    he_ok(api, he_case, "accept", "he-intake")
    deliver()
    api.ok(origin, "whistle", "bj-supervisor", reason="张三（13812345678）再次来电，企业仍在偷排。",
           parties=["peer_bureau"])  # fmt: skip
    deliver()
    (at_hebei,) = api.get(f"/api/v1/whistles?case_no={he_case}", "he-supervisor").json
    assert "企业仍在偷排" in at_hebei["reason"]
    assert "张三" not in at_hebei["reason"] and "13812345678" not in at_hebei["reason"]


def test_the_lead_must_be_signed_before_the_ladder_and_is_signed_once(api, db):
    origin = transferred_case(api)
    deliver()
    he_case = linked_case(db, origin).case_no
    he_ok(api, he_case, "sign_lead", "he-intake")
    assert_error(he(api, he_case, "sign_lead", "he-intake"), 409, "already_signed")
    assert_error(he(api, he_case, "reject", "he-intake", reason="不归我管"), 409, "use_return_lead")
    ordinary = api.register(as_="he-intake", location={"address": "河北省廊坊市三河市"})["case_no"]
    assert_error(he(api, ordinary, "sign_lead", "he-intake"), 409, "not_a_lead")


def test_a_returned_lead_brings_the_origin_case_back_to_handling_with_the_reason(api, db):
    origin = transferred_case(api)
    deliver()
    he_case = linked_case(db, origin).case_no
    assert he_ok(api, he_case, "return_lead", "he-intake", reason="经核实污染源位于北京境内。")["state"] == "returned"
    deliver()
    assert api.complaint(origin)["state"] == "handling"
    last = api.events(origin)[-1]
    assert last["action"] == "lead_result" and last["data"]["outcome"] == "returned"


def test_transfer_to_its_own_bureau_or_an_unknown_one_changes_nothing(api, db):
    case_no = api.to_handling()
    assert_error(api.act(case_no, "transfer", "bj-officer", to_bureau="BJ", reason="x"), 422)
    assert_error(api.act(case_no, "transfer", "bj-officer", to_bureau="SH", reason="x"), 422)
    assert api.complaint(case_no)["state"] == "handling"
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# --- the receiving endpoint -------------------------------------------------------------------


def signed(kind="lead.ack", sender="HE", recipient="BJ", payload=None, key=None, **changes):
    envelope = new_envelope(
        kind,
        sender,
        recipient,
        "HE-20261102-0001",
        payload or {"origin_case_no": "BJ-1", "case_no": "HE-1", "stage": "signed"},
        utcnow(),
    )
    envelope.update(changes)
    trust = get_trust()
    if key is None:
        return trust.sign(envelope)
    body = {k: v for k, v in envelope.items() if k != "signature"}
    import base64

    from ecoflow.audit import canonical

    return {**body, "signature": base64.b64encode(key.sign(canonical(body))).decode()}


def _tampered():
    envelope = signed()
    envelope["payload"]["stage"] = "accepted"
    return envelope


def _replayed(client):
    first = signed("lead.transfer", sender="BJ", recipient="HE", payload={
        "origin_case_no": "BJ-20261102-0009", "summary": "异味", "categories": ["air"], "reason": "管辖",
        "received_at": utcnow().isoformat(), "location": {"address": "河北省廊坊市三河市燕郊镇"}})  # fmt: skip
    assert client.post("/exchange/v1/message", json=first).status_code == 200
    second = dict(first, payload={**first["payload"], "summary": "另一条"})
    return get_trust().sign(second)


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("tampered body", 401, "bad_signature"),
        ("wrong key", 401, "bad_signature"),
        ("replay with another body", 409, "replayed_message"),
        ("unknown sender", 403, "unknown_sender"),
        ("wrong recipient", 403, "wrong_recipient"),
        ("sent an hour ago", 401, "stale_message"),
        ("not an envelope", 422, "invalid_envelope"),
        ("payload not of its type", 422, "invalid_message"),
        ("a type only ever sent as an answer", 422, "unsupported_type"),
    ],
)
def test_the_receiver_refuses_with_the_error_shape_and_a_record(api, client, db, case, status, code):
    hour_ago = (utcnow() - timedelta(hours=1)).isoformat()
    envelope = {
        "tampered body": _tampered,
        "wrong key": lambda: signed(key=Ed25519PrivateKey.generate()),
        "replay with another body": lambda: _replayed(client),
        "unknown sender": lambda: signed(sender="XX", key=Ed25519PrivateKey.generate()),
        "wrong recipient": lambda: signed(recipient="SH"),
        "sent an hour ago": lambda: signed(sent_at=hour_ago, created_at=hour_ago),
        "not an envelope": lambda: {"id": "x", "type": "lead.ack"},
        "payload not of its type": lambda: signed(payload={"stage": "eaten"}),
        "a type only ever sent as an answer": lambda: signed("history.answer", payload={"query_id": "x", "items": []}),
    }[case]()
    before = db.session.scalar(select(func.count()).select_from(Complaint))
    assert_error(client.post("/exchange/v1/message", json=envelope), status, code)
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == before
    record = db.session.scalars(select(ExchangeRejection).order_by(ExchangeRejection.id.desc())).first()
    assert record.error == code
    # In a batch, the same envelope is refused alone, in the same shape.
    results = client.post("/exchange/v1/messages", json={"messages": [envelope]}).json["results"]
    assert results[0]["status"] == "rejected" and results[0]["error"] in (code, "replayed_message", "bad_signature")


def test_a_message_this_bureau_fails_to_apply_is_refused_alone_and_its_batch_is_applied(api, client, db, monkeypatch):
    from ecoflow.exchange import handlers

    def broken(envelope, now):
        raise RuntimeError("a bug in this bureau's handler")

    monkeypatch.setitem(handlers.HANDLERS, "lead.ack", broken)
    transfer = signed("lead.transfer", sender="BJ", recipient="HE", payload={
        "origin_case_no": "BJ-20261102-0009", "summary": "异味", "categories": ["air"], "reason": "管辖",
        "received_at": utcnow().isoformat(), "location": {"address": "河北省廊坊市三河市燕郊镇"}})  # fmt: skip
    response = client.post("/exchange/v1/messages", json={"messages": [signed(), transfer]})
    assert response.status_code == 200
    assert [r["status"] for r in response.json["results"]] == ["rejected", "applied"]
    assert response.json["results"][0]["error"] == "apply_failed"
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1
    assert_error(client.post("/exchange/v1/message", json=signed()), 500, "apply_failed")


def test_a_redelivered_message_gets_the_same_answer_and_creates_nothing(api, client, db):
    envelope = signed("lead.transfer", sender="BJ", recipient="HE", payload={
        "origin_case_no": "BJ-20261102-0009", "summary": "异味", "categories": ["air"], "reason": "管辖",
        "received_at": utcnow().isoformat(), "location": {"address": "河北省廊坊市三河市燕郊镇"}})  # fmt: skip
    first = client.post("/exchange/v1/message", json=envelope).json
    envelope = get_trust().sign(dict(envelope, sent_at=utcnow().isoformat()))
    again = client.post("/exchange/v1/messages", json={"messages": [envelope, envelope]}).json["results"]
    assert first["status"] == "applied"
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert again[0]["answer"] == first["answer"]
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1


# --- dead letters -----------------------------------------------------------------------------


def test_an_unreachable_peer_is_retried_with_backoff_then_dead_lettered_and_a_supervisor_told(
    api, app, db, monkeypatch
):
    trust = get_trust()
    # Hebei's instance at an address where nothing listens: the refusal is real.
    monkeypatch.setitem(trust.peers, "HE", Peer("HE", "http://127.0.0.1:9", trust.peers["HE"].public_key))
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_ATTEMPTS", 3)
    with time_machine.travel(START, tick=False):
        origin = transferred_case(api)
    message = db.session.scalar(select(OutboxMessage))
    at = START
    waits = []
    for _ in range(3):
        assert deliver(at) == 0
        db.session.refresh(message)
        waits.append(message.next_attempt_at - at)
        assert deliver(at + timedelta(seconds=1)) == 0 and message.attempts == len(waits)  # not before its time
        at = message.next_attempt_at + timedelta(seconds=1)
    assert message.state == "dead" and "URLError" in message.last_error
    assert waits[1] >= waits[0]  # exponential: 10-20 s after 5-10 s (base 10 s, jitter up to half)
    notices = db.session.scalars(select(Notification.kind).where(Notification.case_no == origin)).all()
    assert "exchange_dead" in notices

    status = api.get("/api/v1/exchange/status", "bj-supervisor").json
    assert status["peers"]["HE"]["outbox"]["dead"] == 1
    dead = api.get("/api/v1/exchange/outbox?state=dead", "bj-supervisor").json
    assert [m["id"] for m in dead] == [message.message_id]
    assert_error(api.get("/api/v1/exchange/status", "bj-officer"), 403)

    monkeypatch.setitem(trust.peers, "HE", Peer("HE", None, trust.peers["HE"].public_key))  # Hebei is back
    retried = api.post(f"/api/v1/exchange/outbox/{message.message_id}/retry", "bj-supervisor")
    assert retried.status_code == 200 and retried.json["state"] == "queued"
    assert deliver() == 1
    assert linked_case(db, origin) is not None


def test_on_the_unified_platform_operators_see_and_retry_their_bureaus_messages_only(api, client, db, make_officer):
    from ecoflow.exchange.outbox import enqueue
    from ecoflow.officers.models import RoleGrant

    def dead(sender, recipient, case_no):
        message = enqueue("exposure.publish", sender, recipient, case_no, {"case_no": case_no, "title": "典型案例",
                          "summary": "已查处。", "closed_at": utcnow().isoformat()}, utcnow())  # fmt: skip
        message.state, message.attempts, message.last_error = "dead", 5, "unreachable"
        return message

    from_bj, from_he = dead("BJ", "TJ", "BJ-20261102-0001"), dead("HE", "BJ", "HE-20261102-0001")
    db.session.commit()
    exposure = {"case_no": "TJ-1", "title": "典型案例", "summary": "已查处。", "closed_at": utcnow().isoformat()}
    to_he = signed("exposure.publish", sender="TJ", recipient="HE", payload=exposure)
    assert client.post("/exchange/v1/message", json=to_he).status_code == 200

    def outbox(as_):
        return {m["id"] for m in api.get("/api/v1/exchange/outbox?state=dead", as_).json}

    assert outbox("bj-supervisor") == {from_bj.message_id}
    bj = api.get("/api/v1/exchange/status", "bj-supervisor").json
    assert bj["bureaus"] == ["BJ"] and bj["peers"]["TJ"]["outbox"]["dead"] == 1
    assert bj["peers"]["BJ"]["outbox"]["dead"] == 0  # Hebei's dead message to Beijing is Hebei's to see
    assert bj["peers"]["TJ"]["inbox"]["applied"] == 0  # what Tianjin sent Hebei, too
    # Another bureau's message is not found, as if it did not exist, and stays dead.
    assert_error(api.post(f"/api/v1/exchange/outbox/{from_he.message_id}/retry", "bj-supervisor"), 404,
                 "unknown_message")  # fmt: skip
    assert_error(api.post(f"/api/v1/exchange/outbox/{from_he.message_id}/retry", "bj-admin"), 404)
    db.session.refresh(from_he)
    assert from_he.state == "dead"

    assert outbox("he-supervisor") == {from_he.message_id}
    he_status = api.get("/api/v1/exchange/status", "he-supervisor").json
    assert he_status["peers"]["BJ"]["outbox"]["dead"] == 1 and he_status["peers"]["TJ"]["outbox"]["dead"] == 0
    assert he_status["peers"]["TJ"]["inbox"]["applied"] == 1
    retried = api.post(f"/api/v1/exchange/outbox/{from_he.message_id}/retry", "he-supervisor")
    assert retried.status_code == 200 and retried.json["state"] == "queued"

    both = make_officer("jj-supervisor", ["supervisor"], bureau="BJ")
    both.grants.append(RoleGrant(role="admin", bureau_code="HE"))
    db.session.commit()
    assert outbox("jj-supervisor") == {from_bj.message_id}  # Hebei's is queued again now
    assert {m["id"] for m in api.get("/api/v1/exchange/outbox", "jj-supervisor").json} == {
        from_bj.message_id, from_he.message_id}  # fmt: skip
    status = api.get("/api/v1/exchange/status", "jj-supervisor").json
    assert sorted(status["bureaus"]) == ["BJ", "HE"] and status["peers"]["BJ"]["outbox"]["queued"] == 1
    assert_error(api.get("/api/v1/exchange/outbox", "he-officer"), 403)


# --- shared history ---------------------------------------------------------------------------


def test_history_shows_earlier_complaints_of_the_complainant_and_the_place_in_every_bureau(api, db):
    earlier = api.to_handling()
    api.ok(earlier, "reply", "bj-officer", result="已责令整改", text="经核查问题属实，已责令整改。")
    tianjin = api.register(as_="tj-intake", location={"address": "天津市武清区某小区"})["case_no"]
    same_place = api.register(as_="he-intake", complainant={"name": "王五", "phone": "13900000000"},
                              location={"address": COMPLAINT_ADDRESS})["case_no"]  # fmt: skip
    api.register(as_="he-intake", complainant={"name": "赵六", "phone": "13700000000"},
                 location={"address": "河北省保定市某村"})  # fmt: skip
    current = api.register()["case_no"]

    response = api.get(f"/api/v1/complaints/{current}/history", "bj-officer")
    assert response.status_code == 200
    items = {item["case_no"]: item for item in response.json["items"]}
    assert set(items) == {earlier, tianjin, same_place}
    assert items[earlier]["matched_by"] == ["complainant", "place"] and items[earlier]["answer"].startswith("经核查")
    assert items[tianjin]["matched_by"] == ["complainant"] and items[tianjin]["bureau"] == "TJ"
    assert items[same_place]["matched_by"] == ["place"]
    text = response.get_data(as_text=True)
    assert "13812345678" not in text and "张三" not in text and "王五" not in text
    assert db.session.scalar(select(Complaint.complainant_key).where(Complaint.case_no == current)) not in (
        None, "13812345678")  # fmt: skip


def peer_answering(monkeypatch, bureau, result, public_key=None):
    """A peer's instance over HTTP, answering each envelope it is sent with result(envelope); it stands
    in the peers registry under `bureau` (with `public_key`, or the key the registry has). Shut it down."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Instance(BaseHTTPRequestHandler):
        def do_POST(self):
            envelopes = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"]
            reply = json.dumps({"results": [result(e) for e in envelopes]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Instance)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    peers = get_trust().peers
    key = public_key or peers[bureau].public_key
    monkeypatch.setitem(peers, bureau, Peer(bureau, f"http://127.0.0.1:{server.server_port}", key))
    return server


def test_a_peer_answering_history_cannot_speak_for_another_bureau(api, app, db, monkeypatch):
    tianjin = Ed25519PrivateKey.generate()
    questions = []

    def item(bureau, case_no):
        return {"bureau": bureau, "case_no": case_no, "received_at": utcnow().isoformat(), "state": "closed",
                "matched_by": ["complainant"]}  # fmt: skip

    def answer(question):
        """Tianjin's answer, well signed by Tianjin, also names a Hebei case."""
        questions.append(question["payload"])
        items = [item("TJ", "TJ-20261101-0001"), item("HE", "HE-20261101-0009")]
        with app.app_context():
            answer = signed("history.answer", sender="TJ", recipient=question["from"], case=None, key=tianjin,
                            payload={"query_id": question["id"], "items": items})  # fmt: skip
        return {"status": "applied", "answer": answer}

    server = peer_answering(monkeypatch, "TJ", answer, tianjin.public_key())
    try:
        current = api.register()["case_no"]
        response = api.get(f"/api/v1/complaints/{current}/history", "bj-officer")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    assert [i["case_no"] for i in response.json["items"]] == ["TJ-20261101-0001"]
    # The question names the complainant and the place by keyed hashes only.
    (question,) = questions
    assert set(question) == {"complainant_key", "place_key"} and "13812345678" not in json.dumps(question)


def test_an_exposure_published_by_a_peer_is_stored_as_it_came(api, client):
    exposure = {"case_no": "TJ-20261101-0007", "title": "武清某养殖场污水直排被查处", "summary": "已责令整改。",
                "categories": ["water"], "district": "120114", "closed_at": utcnow().isoformat()}  # fmt: skip
    response = client.post("/exchange/v1/message", json=signed("exposure.publish", sender="TJ", recipient="BJ",
                                                                payload=exposure))  # fmt: skip
    assert response.status_code == 200, response.json
    (stored,) = api.get("/api/v1/exchange/exposures", "bj-officer").json
    assert stored["bureau"] == "TJ" and stored["exposure"] == exposure


def test_a_malformed_exposure_withdrawal_is_refused_and_the_exposure_stays(api, client):
    exposure = {
        "case_no": "TJ-20261101-0007",
        "title": "典型案例",
        "summary": "已查处。",
        "closed_at": utcnow().isoformat(),
    }
    client.post("/exchange/v1/message", json=signed("exposure.publish", sender="TJ", recipient="BJ", payload=exposure))
    for payload in (
        {"case_no": "TJ-20261101-0007"},  # when
        {"case_no": "TJ-20261101-0007", "withdrawn_at": "yesterday"},
        {"case_no": "", "withdrawn_at": utcnow().isoformat()},
        {"case_no": "TJ-20261101-0007", "withdrawn_at": utcnow().isoformat(), "title": "典型案例"},
    ):
        envelope = signed("exposure.withdraw", sender="TJ", recipient="BJ", payload=payload)
        assert_error(client.post("/exchange/v1/message", json=envelope), 422, "invalid_message")
        with pytest.raises(ValueError, match="does not match its schema"):
            enqueue("exposure.withdraw", "BJ", "TJ", "BJ-1", payload, utcnow())
    assert len(api.get("/api/v1/exchange/exposures", "bj-officer").json) == 1


def test_a_withdrawal_of_an_exposure_never_received_here_is_applied_not_refused_until_dead(api, client, db):
    withdrawal = signed("exposure.withdraw", sender="TJ", recipient="BJ", case="TJ-20261101-0007",
                        payload={"case_no": "TJ-20261101-0007", "withdrawn_at": utcnow().isoformat()})  # fmt: skip
    first = client.post("/exchange/v1/message", json=withdrawal)
    assert first.status_code == 200 and first.json["status"] == "applied"
    assert first.json["answer"] == {"case_no": "TJ-20261101-0007", "withdrawn": 0}
    assert client.post("/exchange/v1/message", json=withdrawal).json["status"] == "duplicate"
    assert db.session.scalar(select(func.count()).select_from(ExchangeRejection)) == 0


def test_the_ladder_transfers_a_late_case_whose_place_lies_in_another_bureaus_jurisdiction(api, db):
    with time_machine.travel(START, tick=False):
        elsewhere = api.to_handling(location={"address": "河北省廊坊市三河市燕郊镇化工园", "district": "131082"})
        at_home = api.to_handling(location={"address": "北京市通州区梨园镇", "district": "110112"})
    with time_machine.travel(START + timedelta(hours=24), tick=False):
        sweep(utcnow())
    assert api.complaint(elsewhere)["state"] == "transferred"
    assert api.complaint(at_home)["state"] == "handling"
    transfer = next(e for e in api.events(elsewhere) if e["action"] == "transfer")
    assert transfer["actor"] is None and transfer["data"]["to_bureau"] == "HE"
    assert "callback" not in transfer["data"]  # the ladder never sends the complainant's contact
    deliver(START + timedelta(hours=24, minutes=1))
    assert linked_case(db, elsewhere).bureau_code == "HE"


# --- order and operations ---------------------------------------------------------------------


def test_messages_about_one_case_wait_behind_an_earlier_one_that_failed(api, db, app):
    from ecoflow.exchange.outbox import enqueue

    now = utcnow()
    # The first is refused at Hebei (no such lead there), so the second, about the same case, must wait.
    ack = {"origin_case_no": "HE-1", "case_no": "BJ-X-1"}
    first = enqueue("lead.ack", "BJ", "HE", "BJ-X-1", {**ack, "stage": "signed"}, now)
    second = enqueue("lead.ack", "BJ", "HE", "BJ-X-1", {**ack, "stage": "accepted"}, now)
    other = enqueue("exposure.publish", "BJ", "HE", "BJ-Y-2", {"case_no": "BJ-Y-2", "title": "典型案例",
                    "summary": "已查处。", "closed_at": now.isoformat()}, now)  # fmt: skip
    db.session.commit()
    assert deliver() == 1
    for message in (first, second, other):
        db.session.refresh(message)
    assert (first.state, first.attempts, "unknown_lead" in first.last_error) == ("queued", 1, True)
    assert (second.state, second.attempts) == ("queued", 0)  # deferred, not failed
    assert other.state == "delivered"
    assert deliver(first.next_attempt_at - timedelta(seconds=1)) == 0  # still behind the first
    db.session.refresh(second)
    assert second.attempts == 0


def test_a_dead_message_holds_back_the_later_ones_about_its_case_until_it_is_retried(api, db, app):
    from ecoflow.exchange.outbox import enqueue, retry

    origin = transferred_case(api)
    transfer = db.session.scalar(select(OutboxMessage))
    transfer.state = "dead"  # Hebei refused it until the limit: the lead never arrived
    later = enqueue("exposure.publish", "BJ", "HE", origin, {"case_no": origin, "title": "典型案例",
                    "summary": "已查处。", "closed_at": utcnow().isoformat()}, utcnow())  # fmt: skip
    db.session.commit()
    assert deliver() == 0
    db.session.refresh(later)
    assert (later.state, later.attempts) == ("queued", 0)
    retry(transfer, utcnow())
    db.session.commit()
    assert deliver() == 2
    assert linked_case(db, origin) is not None


def test_a_second_deliverer_running_meanwhile_sends_nothing_the_first_has_out(api, app, db, monkeypatch):
    import threading

    from ecoflow.exchange import transport

    origin = transferred_case(api)
    sent, second = [], []
    real = transport.send_local

    def first_deliverer_on_the_wire(envelopes, now):
        sent.extend(e["id"] for e in envelopes)
        if not second:  # while the first deliverer's batch is out, a second one runs in its own session
            second.append(None)
            worker = threading.Thread(target=lambda: second.append(_deliver_in_new_context(app)))
            worker.start()
            worker.join()
        return real(envelopes, now)

    monkeypatch.setattr(transport, "send_local", first_deliverer_on_the_wire)
    assert deliver() == 1
    assert second[1] == 0
    assert len(sent) == 1  # the lead went out once
    assert db.session.scalar(select(OutboxMessage.state)) == "delivered"
    assert linked_case(db, origin) is not None


def _deliver_in_new_context(app):
    with app.app_context():
        return deliver_outbox(utcnow())


def test_a_peer_answering_out_of_order_gets_no_message_marked_delivered_that_it_did_not_apply(api, db, monkeypatch):
    from ecoflow.exchange import transport
    from ecoflow.exchange.outbox import enqueue

    real = transport.send_local
    monkeypatch.setattr(transport, "send_local", lambda envelopes, now: real(envelopes, now)[::-1])
    now = utcnow()
    refused = enqueue("lead.ack", "BJ", "HE", "BJ-X-1", {"origin_case_no": "HE-1", "case_no": "BJ-X-1",
                      "stage": "signed"}, now)  # fmt: skip
    applied = enqueue("exposure.publish", "BJ", "HE", "BJ-Y-2", {"case_no": "BJ-Y-2", "title": "典型案例",
                      "summary": "已查处。", "closed_at": now.isoformat()}, now)  # fmt: skip
    db.session.commit()
    deliver()
    for message in (refused, applied):
        db.session.refresh(message)
    assert refused.state == "queued" and refused.attempts == 1  # not lost as "delivered"
    assert applied.state == "queued" and "the peer answered for" in applied.last_error


def _publish(case_no, now):
    payload = {"case_no": case_no, "title": "典型案例", "summary": "已查处。", "closed_at": now.isoformat()}
    return enqueue("exposure.publish", "BJ", "HE", case_no, payload, now)


@pytest.mark.parametrize("garbage", [None, "applied", [], {"status": "applied"}, {"id": None, "status": "applied"}])
def test_a_result_that_names_no_message_counts_as_a_failed_attempt_and_the_rest_of_the_batch_is_delivered(
    api, app, db, monkeypatch, garbage
):
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_ATTEMPTS", 2)
    server = peer_answering(monkeypatch, "HE", lambda envelope: garbage if envelope["case"] == "BJ-Y-2" else {
        "id": envelope["id"], "status": "applied"})  # fmt: skip
    try:
        now = utcnow()
        good, odd = (_publish(case_no, now) for case_no in ("BJ-Y-1", "BJ-Y-2"))
        db.session.commit()
        assert deliver(now) == 1
        db.session.refresh(good)
        db.session.refresh(odd)
        assert good.state == "delivered"
        assert (odd.state, odd.attempts) == ("queued", 1) and "misanswered" in odd.last_error
        assert deliver(odd.next_attempt_at + timedelta(seconds=1)) == 0
        db.session.refresh(odd)
        assert odd.state == "dead"  # and an operator is told, as for any dead letter
        assert "exchange_dead" in db.session.scalars(select(Notification.kind)).all()
    finally:
        server.shutdown()
        server.server_close()


def test_operators_make_keys_see_the_exchange_and_retry_dead_letters(runner, db, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_KEYS_DIR", str(tmp_path))
    made = runner.invoke(args=["ecoflow", "exchange", "keygen", "HE"])
    assert made.exit_code == 0 and (tmp_path / "HE.pem").exists()
    public = made.output.strip().splitlines()[-1]
    assert len(public) == 44 and "PRIVATE" not in made.output
    assert runner.invoke(args=["ecoflow", "exchange", "keygen", "HE"]).exit_code != 0  # never overwritten silently

    from ecoflow.exchange.outbox import enqueue

    message = enqueue("exposure.publish", "BJ", "TJ", None, {"case_no": "BJ-1", "title": "t", "summary": "s",
                                                             "closed_at": utcnow().isoformat()}, utcnow())  # fmt: skip
    message.state = "dead"
    db.session.commit()
    status = json.loads(runner.invoke(args=["ecoflow", "exchange", "status"]).output)
    assert status["peers"]["TJ"]["outbox"]["dead"] == 1
    retried = runner.invoke(args=["ecoflow", "exchange", "retry", "--dead", "--peer", "TJ"])
    assert "1 message(s) queued again" in retried.output
    assert "1 message(s) delivered" in runner.invoke(args=["ecoflow", "exchange", "deliver"]).output


def test_retrying_an_unknown_message_from_the_cli_says_so(runner, db):
    result = runner.invoke(args=["ecoflow", "exchange", "retry", "no-such-message"])
    assert result.exit_code == 1 and "没有编号为 no-such-message 的报文" in result.output


def test_a_key_replaced_with_force_is_readable_by_its_owner_only(runner, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_KEYS_DIR", str(tmp_path))
    old = tmp_path / "HE.pem"
    old.write_text("an old key someone made readable to all")
    old.chmod(0o644)
    assert runner.invoke(args=["ecoflow", "exchange", "keygen", "HE", "--force"]).exit_code == 0
    assert old.stat().st_mode & 0o777 == 0o600 and "PRIVATE KEY" in old.read_text()


def test_complainants_are_rehashed_when_the_shared_key_changes(api, runner, db, app, monkeypatch):
    case_no = api.register()["case_no"]
    before = db.session.scalar(select(Complaint.complainant_key).where(Complaint.case_no == case_no))
    monkeypatch.setitem(app.config, "HISTORY_KEY", "the key the three bureaus agreed on")
    assert "1 complaint(s) rehashed" in runner.invoke(args=["ecoflow", "rehash-complainants"]).output
    after = db.session.scalar(select(Complaint.complainant_key).where(Complaint.case_no == case_no))
    assert after != before and len(after) == 64


def test_a_second_result_after_the_peer_reopened_goes_on_the_record_without_moving_the_case(api, db):
    origin = transferred_case(api)
    deliver()
    he_case = linked_case(db, origin).case_no
    he_ok(api, he_case, "accept", "he-intake")
    he_ok(api, he_case, "assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="general",
          categories=["air"])  # fmt: skip
    he_ok(api, he_case, "sign", "he-officer")
    he_ok(api, he_case, "reply", "he-officer", result="已整改", text="已整改。")
    deliver()
    api.ok(origin, "reply", "bj-officer", result="已由河北查处", text="已由河北方面查处。")
    api.ok(origin, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    deliver()
    assert api.complaint(he_case, as_="he-supervisor")["state"] == "closed"
    he_ok(api, he_case, "reopen", "he-supervisor", reason="复查发现企业仍在偷排。")  # Hebei's own decision
    he_ok(api, he_case, "reply", "he-officer", result="再次整改并处罚", text="已再次检查并处罚。")
    assert deliver() == 1
    assert api.complaint(origin)["state"] == "closed"
    assert api.events(origin)[-1]["action"] == "lead_update"
    undelivered = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "delivered")
    assert db.session.scalar(undelivered) == 0


def test_junk_on_the_receiving_endpoint_gets_the_error_shape_and_changes_nothing(client, db):
    results = client.post("/exchange/v1/messages", json={"messages": [1, "x", None, [], {"v": 1}]}).json["results"]
    assert [r["error"] for r in results] == ["invalid_envelope"] * 5
    for body in ({"messages": []}, {"messages": "x"}, {}, []):
        response = client.post("/exchange/v1/messages", json=body)
        assert_error(response, 400 if body == [] else 422)
    assert_error(client.post("/exchange/v1/message", data="{not json", content_type="application/json"), 400)
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    # One row per claimed sender, reason and minute, counting them all.
    assert db.session.execute(select(func.count(), func.sum(ExchangeRejection.count))).one() == (1, 5)


def test_an_envelope_naming_its_case_or_sender_as_a_list_or_object_is_refused_not_a_server_error(api, client, db):
    batch = [{**signed(), "case": ["HE-1"]}, {**signed(), "from": {"code": "HE"}}, signed(case={"a": 1})]
    response = client.post("/exchange/v1/messages", json={"messages": batch})
    assert response.status_code == 200
    assert [r["error"] for r in response.json["results"]] == ["invalid_envelope"] * 3
    assert db.session.scalar(select(func.sum(ExchangeRejection.count))) == 3


def test_the_history_a_peer_is_answered_with_masks_the_complainant_in_the_officers_answer(api, client, db):
    earlier = api.to_handling()
    api.ok(earlier, "reply", "bj-officer", result="已电话告知张三", text="已致电张三（13812345678），已责令整改。")
    key = db.session.scalar(select(Complaint.complainant_key).where(Complaint.case_no == earlier))
    question = signed("history.query", sender="HE", recipient="BJ", case=None,
                      payload={"complainant_key": key, "place_key": None})  # fmt: skip
    response = client.post("/exchange/v1/message", json=question)
    assert response.status_code == 200, response.json
    (item,) = response.json["answer"]["payload"]["items"]
    assert item["case_no"] == earlier and "已责令整改" in item["answer"]
    text = json.dumps(response.json["answer"], ensure_ascii=False)
    assert "张三" not in text and "13812345678" not in text


@pytest.mark.parametrize("whistle_id", [2**31, 10**30])
def test_a_whistle_id_beyond_what_the_database_holds_is_refused_not_a_server_error(api, client, db, whistle_id):
    origin = transferred_case(api)
    deliver()
    report_by = (utcnow() + timedelta(hours=24)).isoformat()
    blow = signed("whistle.blow", sender="BJ", recipient="HE", case=origin, payload={
        "whistle_id": whistle_id, "case_no": origin, "reason": "联合执法", "report_by": report_by})  # fmt: skip
    report_in = signed(payload={"whistle_id": whistle_id, "who_will_act": "三河分局"}, kind="whistle.report_in")
    for envelope in (blow, report_in):
        assert_error(client.post("/exchange/v1/message", json=envelope), 422, "invalid_message")


@pytest.mark.parametrize("garbage", [None, "applied"])
def test_a_peer_answering_history_with_garbage_is_left_out_of_what_the_officer_sees(api, db, monkeypatch, garbage):
    server = peer_answering(monkeypatch, "HE", lambda envelope: garbage)
    try:
        current = api.register()["case_no"]
        response = api.get(f"/api/v1/complaints/{current}/history", "bj-officer")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    assert all(item["bureau"] != "HE" for item in response.json["items"])
