"""宣传曝光: a supervisor publishes a closed case; the public board never shows a name, a phone
number or an exact address, whatever the case's texts repeat."""

import time_machine

from .conftest import shanghai

START = shanghai(2026, 11, 2, 9)
NAME, PHONE, ADDRESS = "欧阳娜娜", "13912345678", "北京市通州区梨园镇云景里小区3号楼"
# What a careless text might say about the complainant.
LEAKY = (f"{NAME}（电话 139-1234-5678，邮箱 nana@example.com）反映：{ADDRESS}旁边的工厂夜间排放废气，"
         f"云景里小区3号楼的娜娜家和梨园镇的邻居都闻到异味。")  # fmt: skip
SECRETS = [NAME, "娜娜", PHONE, "139-1234-5678", "12345678", "5678", "nana@example.com", "云景里", "梨园镇",
           "3号楼", ADDRESS]  # fmt: skip


def closed_case(api):
    with time_machine.travel(START, tick=False):
        case_no = api.to_handling(
            description=LEAKY, complainant={"name": NAME, "phone": PHONE, "callback_consent": True, "notify": False},
            location={"address": ADDRESS},
        )  # fmt: skip
        result = f"执法人员联系{NAME}（{PHONE}）后到{ADDRESS}核查，责令工厂整改。"
        api.ok(case_no, "reply", "bj-officer", result=result, text="已处理。")
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    return case_no


def publish(api, case_no, as_="bj-supervisor", **fields):
    body = {"case_no": case_no, "title": f"{NAME}反映的工厂废气问题得到解决", **fields}
    with time_machine.travel(START.replace(hour=15), tick=False):
        return api.post("/api/v1/exposures", as_, json=body)


def test_a_published_case_shows_no_personal_detail_anywhere_public(api, client):
    case_no = closed_case(api)
    response = publish(api, case_no, summary=f"诉求人{NAME}，电话{PHONE}，住{ADDRESS}。")
    assert response.status_code == 201, response.json

    board = client.get("/api/v1/public/exposures")
    page = client.get("/public/exposures")
    assert board.status_code == 200 and page.status_code == 200
    [item] = board.json["items"]
    assert item["district"] == "通州区" and item["categories"] == "大气"
    assert "责令工厂整改" in item["handling"] and item["title"].startswith("欧某")
    html = page.get_data(as_text=True)
    assert "工厂废气问题得到解决" in html
    for public in (board.get_data(as_text=True), html):
        for secret in SECRETS:
            assert secret not in public, secret
        assert case_no not in public


def test_the_default_summary_is_the_scrubbed_description(api, client):
    publish(api, closed_case(api))
    [item] = client.get("/api/v1/public/exposures").json["items"]
    assert "工厂夜间排放废气" in item["summary"]
    for secret in SECRETS:
        assert secret not in item["summary"]


def test_only_a_supervisor_publishes_only_closed_cases_once(api, client):
    with time_machine.travel(START, tick=False):
        open_case = api.to_handling()
    refused = publish(api, open_case)
    assert refused.status_code == 409 and refused.json["error"] == "not_closed"
    case_no = closed_case(api)
    assert publish(api, case_no, as_="bj-officer").status_code == 403
    assert publish(api, case_no, as_="tj-supervisor").status_code == 403
    assert publish(api, case_no).status_code == 201
    assert publish(api, case_no).json["error"] == "already_published"
    assert client.get("/api/v1/public/exposures").json["total"] == 1
    assert publish(api, case_no, title="").status_code == 422
    assert "expose" in [e["action"] for e in api.events(case_no)]


def test_a_withdrawn_case_leaves_the_board(api, client):
    exposure = publish(api, closed_case(api)).json
    with time_machine.travel(START.replace(hour=16), tick=False):
        assert api.post(f"/api/v1/exposures/{exposure['id']}/withdraw", "bj-officer").status_code == 403
        assert api.post(f"/api/v1/exposures/{exposure['id']}/withdraw", "bj-supervisor").status_code == 200
        assert api.post(f"/api/v1/exposures/{exposure['id']}/withdraw", "bj-supervisor").status_code == 409
    assert client.get("/api/v1/public/exposures").json["items"] == []
    assert "暂无典型案例" in client.get("/public/exposures").get_data(as_text=True)


def test_the_message_for_the_peers_carries_only_the_scrubbed_record(api, db):
    from ecoflow.complaints.models import Complaint
    from ecoflow.exposure.models import Exposure
    from ecoflow.exposure.services import peer_message

    case_no = closed_case(api)
    publish(api, case_no)
    exposure = db.session.query(Exposure).one()
    message = peer_message(exposure, db.session.query(Complaint).filter_by(case_no=case_no).one())
    assert message["case_no"] == case_no and message["categories"] == ["air"]
    for secret in SECRETS:
        assert secret not in str(message)


def test_a_published_case_is_queued_for_every_peer(api, db):
    from ecoflow.exchange.models import OutboxMessage

    case_no = closed_case(api)
    publish(api, case_no)
    messages = db.session.query(OutboxMessage).filter_by(type="exposure.publish").all()
    assert sorted(m.recipient for m in messages) == ["HE", "TJ"]
    for message in messages:
        assert message.sender == "BJ" and message.payload["title"].startswith("欧某")
        for secret in SECRETS:
            assert secret not in str(message.payload)


def test_the_board_shows_what_peers_of_other_instances_published(api, app, client, db, monkeypatch):
    from ecoflow.exchange.models import ReceivedExposure
    from ecoflow.timeutil import utcnow

    payload = {
        "case_no": "HE-20261101-0007", "title": "石料厂粉尘污染整改到位",
        "summary": "群众（13733334403）反映粉尘污染。", "categories": ["air"], "district": "131082",
        "result": "已责令覆盖料堆", "closed_at": "2026-11-05T10:00:00+08:00",
    }  # fmt: skip
    db.session.add(ReceivedExposure(message_id="m-1", bureau_code="HE", case_no=payload["case_no"], payload=payload,
                                    received_at=utcnow()))  # fmt: skip
    db.session.commit()
    assert client.get("/api/v1/public/exposures").json["peers"] == []  # HE is hosted here: its own board shows it
    monkeypatch.setattr(app.extensions["ecoflow.trust"], "hosted", ["BJ"])
    [item] = client.get("/api/v1/public/exposures").json["peers"]
    assert item["title"] == "石料厂粉尘污染整改到位" and item["categories"] == "大气"
    assert item["district"] == "廊坊市三河市"
    html = client.get("/public/exposures").get_data(as_text=True)
    assert html.count("兄弟单位发布的典型案例") == 1 and "石料厂粉尘污染整改到位" in html
    for public in (str(item), html):
        assert "13733334403" not in public and "HE-20261101-0007" not in public


def test_a_withdrawn_case_leaves_the_peers_boards_too(api, app, client, db, monkeypatch):
    from ecoflow.exchange.models import OutboxMessage
    from ecoflow.exchange.outbox import deliver_outbox
    from ecoflow.timeutil import utcnow

    case_no = closed_case(api)
    exposure = publish(api, case_no).json
    assert deliver_outbox(utcnow()) == 2  # to Tianjin and Hebei, through the local transport
    received = api.get("/api/v1/exchange/exposures", "tj-officer").json
    assert len(received) == 2 and {r["bureau"] for r in received} == {"BJ"}
    monkeypatch.setattr(app.extensions["ecoflow.trust"], "hosted", ["TJ"])  # as Tianjin's own instance would
    [shown] = client.get("/api/v1/public/exposures").json["peers"]
    assert shown["title"] == exposure["title"]

    with time_machine.travel(START.replace(hour=16), tick=False):
        assert api.post(f"/api/v1/exposures/{exposure['id']}/withdraw", "bj-supervisor").status_code == 200
    withdrawals = db.session.query(OutboxMessage).filter_by(type="exposure.withdraw").all()
    assert sorted(m.recipient for m in withdrawals) == ["HE", "TJ"]
    assert {m.case_no for m in withdrawals} == {case_no}  # applied after the case's publish, in order
    assert deliver_outbox(utcnow()) == 2
    assert api.get("/api/v1/exchange/exposures", "tj-officer").json == []
    assert client.get("/api/v1/public/exposures").json["peers"] == []
    assert exposure["title"] not in client.get("/public/exposures").get_data(as_text=True)
