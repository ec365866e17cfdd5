"""Bounded anonymous work at the exchange's receiving endpoint: junk is kept once per claimed sender,
reason and minute with a count (and logged once a batch), an address that sends more unverified
envelopes than the limit is answered 429 before its body is read, and a peer whose envelopes verify
is never slowed."""

import logging

import pytest
import time_machine
from sqlalchemy import func, select

from ecoflow.exchange.models import ExchangeRejection

from .conftest import shanghai
from .test_exchange import signed
from .test_hostile_input import assert_error

START = shanghai(2026, 11, 2, 9)


def junk(n, sender="XX"):
    return {"messages": [{"id": f"m{i}", "from": sender, "to": "BJ", "type": "lead.ack"} for i in range(n)]}


@pytest.fixture
def no_address_limit(app):
    app.config["EXCHANGE_REFUSALS_PER_MINUTE"] = 10**9
    yield
    app.config["EXCHANGE_REFUSALS_PER_MINUTE"] = 100


def test_ten_thousand_junk_envelopes_are_one_row_with_their_count(client, db, no_address_limit, caplog):
    caplog.set_level(logging.WARNING, logger="ecoflow.exchange.inbox")
    with time_machine.travel(START, tick=False):
        for _ in range(10):
            response = client.post("/exchange/v1/messages", json=junk(1000))
            assert response.status_code == 200
            assert {r["error"] for r in response.json["results"]} == {"invalid_envelope"}
    rows = db.session.execute(select(ExchangeRejection.sender, ExchangeRejection.error, ExchangeRejection.count)).all()
    assert [tuple(r) for r in rows] == [("XX", "invalid_envelope", 10000)]
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 10


def test_refusals_are_counted_per_sender_reason_and_minute(client, db, api, no_address_limit):
    with time_machine.travel(START, tick=False):
        client.post("/exchange/v1/messages", json=junk(3, "XX"))
        client.post("/exchange/v1/messages", json=junk(2, "YY"))
    with time_machine.travel(START.replace(minute=1), tick=False):
        client.post("/exchange/v1/messages", json=junk(4, "XX"))
    rows = db.session.execute(
        select(ExchangeRejection.sender, ExchangeRejection.count).order_by(
            ExchangeRejection.minute, ExchangeRejection.sender
        )
    ).all()
    assert [tuple(r) for r in rows] == [("XX", 3), ("YY", 2), ("XX", 4)]
    assert api.get("/api/v1/exchange/status", "bj-supervisor").json["refused_from_unknown"] == 9


def test_an_address_sending_junk_past_the_limit_waits_before_its_body_is_read(client, db, app):
    limit = app.config["EXCHANGE_REFUSALS_PER_MINUTE"]
    with time_machine.travel(START, tick=False):
        assert client.post("/exchange/v1/messages", json=junk(limit)).status_code == 200
        # Not even parsed: malformed JSON gets the 429, not the 400 it would otherwise get.
        refused = client.post("/exchange/v1/message", data="{not json", content_type="application/json")
        assert_error(refused, 429, "too_many_refusals")
        assert_error(client.post("/exchange/v1/messages", json=junk(1)), 429, "too_many_refusals")
        # Another address is not held up.
        other = client.post("/exchange/v1/messages", json=junk(1), environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 200
    assert db.session.scalar(select(func.sum(ExchangeRejection.count))) == limit + 1


def test_a_peer_whose_envelopes_verify_is_never_slowed(client, db, app, api):
    limit = app.config["EXCHANGE_REFUSALS_PER_MINUTE"]
    with time_machine.travel(START, tick=False):
        verified = client.post("/exchange/v1/messages", json={"messages": [signed(payload=None)]})
        assert verified.status_code == 200
        assert client.post("/exchange/v1/messages", json=junk(limit * 2)).status_code == 200
        assert client.post("/exchange/v1/messages", json=junk(1)).status_code == 200
