"""Hostile input at the exchange's doors: what a peer, or anyone who can reach the receiving endpoint,
sends is refused with a 4xx in the JSON error shape, kept on the record of refusals, and never
breaks the batch it came in (several of these were server errors on PostgreSQL only)."""

import json

import pytest
from sqlalchemy import func, select

from ecoflow.complaints.models import Complaint
from ecoflow.exchange.models import ExchangeRejection, InboxMessage
from ecoflow.exchange.outbox import enqueue
from ecoflow.timeutil import utcnow

from .test_exchange import signed
from .test_hostile_input import assert_error


def lead(**location):
    """A lead from Beijing to Hebei, its location changed by `location`."""
    return {
        "origin_case_no": "BJ-20261102-0009", "summary": "异味", "categories": ["air"], "reason": "管辖",
        "received_at": utcnow().isoformat(), "location": {"address": "河北省廊坊市三河市燕郊镇", **location},
    }  # fmt: skip


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, path, body):
    # json.dumps, not the client's json=: it writes NaN and Infinity as Python's JSON reader takes them.
    return client.post(path, data=json.dumps(body), content_type="application/json")


# --- the operators' retry -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["%00", "x"])
def test_a_retry_naming_a_message_with_a_control_character_or_beyond_its_id_finds_none(api, db, suffix):
    message = enqueue("exposure.publish", "BJ", "TJ", "BJ-20261102-0001", {
        "case_no": "BJ-20261102-0001", "title": "典型案例", "summary": "已查处。", "closed_at": utcnow().isoformat()},
        utcnow())  # fmt: skip
    message.state, message.attempts = "dead", 5
    db.session.commit()
    for message_id in (f"a{suffix}b", message.message_id + suffix):
        response = api.post(f"/api/v1/exchange/outbox/{message_id}/retry", "bj-supervisor")
        assert_error(response, 404, "unknown_message")
    db.session.refresh(message)
    assert (message.state, message.attempts) == ("dead", 5)  # nor is the real one sent again


# --- the record of refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field", "kept"),
    [
        ('{"from": "B\\u0000J"}', "sender", "B\ufffdJ"),
        ('{"id": "\\u0000"}', "message_id", "\ufffd"),
        ('{"id": "\\ud800"}', "message_id", "\ufffd"),
        ('{"type": "lead.\\u001b[2Jack"}', "type", "lead.\ufffd[2Jack"),
        ('{"to": "' + "H" * 100 + '"}', "recipient", "H" * 40),
    ],
)
def test_a_junk_envelope_with_unstorable_fields_is_refused_and_kept_on_the_record(client, db, raw, field, kept):
    response = client.post("/exchange/v1/message", data=raw, content_type="application/json")
    assert_error(response, 422, "invalid_envelope")
    (record,) = db.session.scalars(select(ExchangeRejection)).all()
    assert record.error == "invalid_envelope" and getattr(record, field) == kept


def test_junk_envelopes_are_refused_alone_and_the_valid_message_of_their_batch_is_applied(api, client, db):
    good = signed("lead.transfer", sender="BJ", recipient="HE", payload=lead())
    raw = '{"messages": [{"type": "a\\u0000"}, {"id": "\\ud800", "from": "B\\u0000J"}, ' + json.dumps(good) + "]}"
    response = client.post("/exchange/v1/messages", data=raw, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert [r["status"] for r in response.json["results"]] == ["rejected", "rejected", "applied"]
    assert db.session.scalar(select(Complaint.peer_case_no).where(Complaint.bureau_code == "HE")) == "BJ-20261102-0009"
    assert count(db, InboxMessage) == 1
    refused = db.session.execute(select(ExchangeRejection.type, ExchangeRejection.sender, ExchangeRejection.message_id)
                                 .order_by(ExchangeRejection.id)).all()  # fmt: skip
    assert [tuple(row) for row in refused] == [("a\ufffd", None, None), (None, "B\ufffdJ", "\ufffd")]
    assert response.json["results"][1]["id"] == "\ufffd"  # answered as kept


# --- what a signed message carries ----------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lead(lat=float("nan")), id="lat NaN"),
        pytest.param(lead(lng=float("inf")), id="lng Infinity"),
        pytest.param(lead(lat=-float("inf")), id="lat -Infinity"),
        pytest.param(lead(lng=1e308), id="lng 1e308"),
        pytest.param(lead(lat=90.5), id="lat 90.5"),
        pytest.param(lead(address="河北省廊坊市\x00三河市"), id="NUL in the address"),
        pytest.param(lead(district="1310\x0782"), id="BEL in the district"),
        pytest.param({**lead(), "summary": "异味\x00"}, id="NUL in the summary"),
        pytest.param({**lead(), "origin_case_no": "BJ-\x00"}, id="NUL in the case number"),
        pytest.param({**lead(), "categories": ["air\x1f"]}, id="control in a category"),
        pytest.param({**lead(), "complainant": {"name": "张\x00三", "phone": "13812345678"}}, id="NUL in the name"),
    ],
)
def test_a_signed_lead_intake_would_refuse_is_refused_and_registers_no_case(api, client, db, payload):
    envelope = signed("lead.transfer", sender="BJ", recipient="HE", payload=payload)
    assert_error(post(client, "/exchange/v1/message", envelope), 422, "invalid_message")
    assert count(db, Complaint) == 0 and count(db, InboxMessage) == 0
    assert db.session.scalar(select(ExchangeRejection.error)) == "invalid_message"


def test_a_lead_with_coordinates_in_range_is_registered_with_them_as_valid_json(api, client, db):
    envelope = signed("lead.transfer", sender="BJ", recipient="HE", payload=lead(lat=39.9, lng=-180))
    response = post(client, "/exchange/v1/message", envelope)
    assert response.status_code == 200, response.json
    text = api.get(f"/api/v1/complaints/{response.json['answer']['case_no']}", "he-intake").get_data(as_text=True)
    location = json.loads(text, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))["location"]
    assert (location["lat"], location["lng"]) == (39.9, -180)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"payload": {"origin_case_no": "BJ-\x00", "case_no": "HE-1", "stage": "signed"}}, "invalid_message"),
        ({"case": "HE-\x00"}, "invalid_envelope"),
    ],
    ids=["NUL in the origin case", "NUL in the envelope's case"],
)
def test_a_signed_answer_with_a_control_character_is_refused_not_retried_until_dead(api, client, db, changes, code):
    envelope = signed(**{k: v for k, v in changes.items() if k != "payload"}, payload=changes.get("payload"))
    assert_error(post(client, "/exchange/v1/message", envelope), 422, code)
    results = post(client, "/exchange/v1/messages", {"messages": [envelope]}).json["results"]
    assert [(r["status"], r["error"]) for r in results] == [("rejected", code)]
    assert count(db, InboxMessage) == 0
