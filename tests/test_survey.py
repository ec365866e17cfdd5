"""满意度评价: the complainant answers the 回访 through the single-use, expiring link of the 答复 SMS
(a fake SMS gateway on a loopback port takes the SMS; the link is read from it)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from ecoflow.citizens.models import Survey
from ecoflow.exchange.models import OutboxMessage
from ecoflow.intake.services import create_client

from .conftest import run_together
from .test_complainant_notices import START, WANTS_SMS, deliver, gateway  # noqa: F401 (a fixture)

LINK = re.compile(r"https://sthjj\.beijing\.gov\.cn(/s/[A-Za-z0-9_-]+)")


@pytest.fixture
def public(app, gateway, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://sthjj.beijing.gov.cn/")
    return gateway


def replied(api, sms, at=START, **fields):
    """A case answered; the survey link of the 答复 SMS the complainant got."""
    with time_machine.travel(at, tick=False):
        case_no = api.to_handling(complainant=WANTS_SMS, **fields)
        api.ok(case_no, "reply", "bj-officer", result="已责令工厂整改", text="经现场检查，该厂已停产整改。")
    deliver(at + timedelta(minutes=1))
    answer = [m for m in sms.sent if case_no in m["text"] and "已办理" in m["text"]][-1]
    return case_no, LINK.search(answer["text"]).group(1)


def test_the_complainant_answers_once_and_the_case_closes(api, client, public, db):
    case_no, link = replied(api, public)
    (answer,) = [m["text"] for m in public.sent if "已办理" in m["text"]]
    assert "7日内" in answer and "是否满意" in answer

    with time_machine.travel(START + timedelta(hours=2), tick=False):
        page = client.get(link)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert case_no in html and "经现场检查，该厂已停产整改。" in html and "基本满意" in html
        assert "张三" not in html and "13812345678" not in html
        done = client.post(link, data={"resolved": "yes", "satisfaction": "satisfied", "note": "谢谢"})
        assert done.status_code == 200 and "感谢您的评价" in done.get_data(as_text=True)
        complaint = api.complaint(case_no)
        assert complaint["state"] == "closed"
        event = api.events(case_no)[-1]
        assert (event["action"], event["actor"], event["data"]["satisfaction"], event["data"]["by"]) == (
            "follow_up", None, "satisfied", "complainant")  # fmt: skip

        again = client.post(link, data={"resolved": "no", "satisfaction": "unsatisfied"})
        assert again.status_code == 410 and "只能使用一次" in again.get_data(as_text=True)
        opened = client.get(link)
        assert opened.status_code == 410 and "只能使用一次" in opened.get_data(as_text=True)
    assert api.complaint(case_no)["state"] == "closed"


def test_an_unresolved_answer_reopens_the_case_and_the_new_reply_sends_a_new_link(api, client, public):
    case_no, first = replied(api, public)
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        answer = client.post(first, data={"resolved": "no", "satisfaction": "unsatisfied", "note": "仍有异味"})
        assert "重新办理" in answer.get_data(as_text=True)
        complaint = api.complaint(case_no)
        assert (complaint["state"], complaint["reopen_count"]) == ("handling", 1)
        api.ok(case_no, "reply", "bj-officer", result="已立案处罚", text="已对该厂立案处罚并复查。")
    deliver(START + timedelta(hours=3))
    links = [LINK.search(m["text"]).group(1) for m in public.sent if "已办理" in m["text"]]
    assert len(links) == 2 and links[0] == first
    with time_machine.travel(START + timedelta(hours=4), tick=False):
        assert client.get(first).status_code == 410
        assert client.post(links[1], data={"resolved": "yes", "satisfaction": "basically_satisfied"}).status_code == 200
    assert api.complaint(case_no)["state"] == "closed"


def test_an_expired_or_unknown_link_says_so_and_changes_nothing(api, client, public):
    case_no, link = replied(api, public)
    with time_machine.travel(START + timedelta(days=7, minutes=1), tick=False):
        expired = client.get(link)
        assert expired.status_code == 410 and "已过期" in expired.get_data(as_text=True)
        posted = client.post(link, data={"resolved": "yes", "satisfaction": "satisfied"})
        assert posted.status_code == 410 and "已过期" in posted.get_data(as_text=True)
        unknown = client.get("/s/not-a-token")
        assert unknown.status_code == 404 and "链接无效" in unknown.get_data(as_text=True)
        assert api.complaint(case_no)["state"] == "replied"
        # Intake still types the 回访 of a case whose link went unanswered.
        assert api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")["state"] == "closed"


def test_a_link_of_a_case_answered_by_intake_meanwhile_says_the_follow_up_is_done(api, client, public):
    case_no, link = replied(api, public)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
        version = api.complaint(case_no)["version"]
        posted = client.post(link, data={"resolved": "no", "satisfaction": "unsatisfied"})
    assert posted.status_code == 410 and "回访已经完成" in posted.get_data(as_text=True)
    assert api.complaint(case_no)["version"] == version


def test_an_incomplete_answer_is_shown_again_with_what_is_missing(api, client, public):
    case_no, link = replied(api, public)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        missing = client.post(link, data={"resolved": "yes", "note": "还行"})
        html = missing.get_data(as_text=True)
        assert missing.status_code == 422 and "请选择满意程度" in html and "还行" in html
        assert client.post(link, data={"resolved": "maybe", "satisfaction": "x"}).status_code == 422
        assert api.complaint(case_no)["state"] == "replied"
        assert client.get(link).status_code == 200  # not spent


def test_two_answers_at_once_take_the_link_once(api, app, public):
    case_no, link = replied(api, public)
    statuses = []

    def answer(resolved):
        with time_machine.travel(START + timedelta(hours=1), tick=False), app.test_client() as client:
            statuses.append(client.post(link, data={"resolved": resolved, "satisfaction": "satisfied"}).status_code)

    run_together(lambda: answer("yes"), lambda: answer("no"))
    assert sorted(statuses) == [200, 410]
    events = [e["action"] for e in api.events(case_no)]
    assert events.count("follow_up") == 1


def test_no_link_for_a_centres_case_nor_without_sms(api, client, public, db):
    case_no = api.to_handling(complainant={**WANTS_SMS, "notify": False})
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已责令整改。")
    assert db.session.scalars(select(Survey)).all() == []
    assert db.session.scalars(select(OutboxMessage)).all() == []

    # A centre that hears back calls the citizen itself: the 答复 SMS carries no link.
    _, key = create_client("北京12345热线", "hotline_12345", "BJ", callback_url="https://12345.example.com/huidan")
    db.session.commit()
    order = {"order_no": "12345-20261102-000001", "received_at": START.isoformat(), "type": "投诉",
             "content": "小区旁工厂每晚排放废气。", "caller": WANTS_SMS,
             "address": "北京市通州区梨园镇云景里小区"}  # fmt: skip
    with time_machine.travel(START, tick=False):
        answer = client.post(
            "/api/v1/intake/orders", json={"orders": [order]}, headers={"Authorization": f"Bearer {key}"}
        )
        centre_case = answer.json["results"][0]["case_no"]
        api.ok(centre_case, "accept", "bj-intake")
        api.ok(centre_case, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general",
               categories=["air"])  # fmt: skip
        api.ok(centre_case, "sign", "bj-officer")
        api.ok(centre_case, "reply", "bj-officer", result="已处理", text="已责令整改。")
    sms = [m.payload["text"] for m in db.session.scalars(select(OutboxMessage)) if m.type.startswith("sms.")]
    assert any("已办理" in text for text in sms) and not any("/s/" in text for text in sms)
    assert db.session.scalars(select(Survey)).all() == []
