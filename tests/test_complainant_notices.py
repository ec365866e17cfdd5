"""The complainant hears back by SMS at 受理, 答复 and 办结, through a fake SMS gateway on a loopback
port: once and in order, also when the gateway fails for a while; nothing to one who asked not to be
contacted or is anonymous."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from sqlalchemy import select

from ecoflow.exchange.models import OutboxMessage
from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.timeutil import utcnow

from .conftest import shanghai

START = shanghai(2026, 11, 2, 9)
WANTS_SMS = {"name": "张三", "phone": "13812345678", "callback_consent": True, "notify": True}


class FakeGateway:
    """An SMS gateway: keeps each JSON {to, text} it takes; `failing` answers 500."""

    def __init__(self):
        self.sent, self.failing = [], False
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if gateway.failing:
                    self.send_error(500)
                    return
                gateway.sent.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def gateway(app, monkeypatch):
    fake = FakeGateway()
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", fake.url)
    monkeypatch.setitem(app.config, "PUBLIC_LOOKUP_URL", "https://sthjj.beijing.gov.cn/lookup")
    monkeypatch.setitem(app.config, "EXCHANGE_BACKOFF_SECONDS", 1)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def deliver(at):
    with time_machine.travel(at, tick=False):
        return deliver_outbox(utcnow())


def closed_case(api, **fields):
    case_no = api.to_handling(complainant=WANTS_SMS, **fields)
    api.ok(case_no, "reply", "bj-officer", result="已责令工厂整改", text="经现场检查，该厂已停产整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    return case_no


def test_the_complainant_gets_a_receipt_the_answer_and_the_closure(api, gateway):
    with time_machine.travel(START, tick=False):
        case_no = closed_case(api)
    assert deliver(START + timedelta(minutes=1)) == 3
    receipt, answer, closure = gateway.sent
    assert {m["to"] for m in gateway.sent} == {"13812345678"}
    assert "【北京市生态环境局】" in receipt["text"] and f"受理编号{case_no}" in receipt["text"]
    assert "https://sthjj.beijing.gov.cn/lookup" in receipt["text"] and "手机号后四位" in receipt["text"]
    assert "已责令工厂整改" in answer["text"] and "该厂已停产整改" in answer["text"]
    assert "已办结" in closure["text"]
    assert deliver(START + timedelta(minutes=2)) == 0  # none twice


def test_a_gateway_that_fails_for_a_while_gets_each_sms_once_and_in_order(api, gateway):
    gateway.failing = True
    with time_machine.travel(START, tick=False):
        closed_case(api)
    assert deliver(START + timedelta(minutes=1)) == 0
    gateway.failing = False
    assert deliver(START + timedelta(minutes=30)) == 3
    texts = [m["text"] for m in gateway.sent]
    assert "已受理" in texts[0] and "办理结果" in texts[1] and "已办结" in texts[2]


@pytest.mark.parametrize(
    "fields",
    [
        {"complainant": {**WANTS_SMS, "notify": False}},  # asked not to be contacted
        {"complainant": WANTS_SMS, "sensitive": True},  # anonymous: their officer contacts them in person
        {"complainant": {"name": "匿名"}},  # no phone
    ],
    ids=["notify-false", "sensitive", "no-phone"],
)
def test_nothing_is_sent_to_a_complainant_who_must_not_or_cannot_get_it(api, db, gateway, fields):
    case_no = api.to_handling(**fields)
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已责令整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_without_a_gateway_the_sms_is_written_to_the_log_with_the_phone_masked(api, db, app, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", None)
    case_no = api.register(complainant=WANTS_SMS)["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    with caplog.at_level(logging.INFO, logger="ecoflow.exchange.outbox"):
        assert deliver_outbox(utcnow()) == 1
    assert f"受理编号{case_no}" in caplog.text and "138****5678" in caplog.text and "13812345678" not in caplog.text
    status = api.get("/api/v1/exchange/status", "bj-supervisor").json
    assert status["sms"]["outbox"]["delivered"] == 1
