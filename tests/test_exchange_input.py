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
