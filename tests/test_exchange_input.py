"""Hostile input at the exchange's doors: what a peer, or anyone who can reach the receiving endpoint,
sends is refused with a 4xx in the JSON error shape, kept on the record of refusals, and never
breaks the batch it came in (several of these were server errors on PostgreSQL only)."""

import json

import pytest
from sqlalchemy import func, select

from ecoflow.exchange.outbox import enqueue
from ecoflow.timeutil import utcnow

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
