"""The lead card (线索卡) on the receiving case, and the complainant's home told apart from the place
of the pollution at every door: the place travels whole, the home stays masked."""

import hashlib
import io
import json
from datetime import timedelta

import time_machine
from sqlalchemy import select

from ecoflow.complaints.models import Complaint
from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.timeutil import utcnow

from .conftest import COMPLAINT, shanghai
from .test_web import csrf, web  # noqa: F401 (a fixture)

START = shanghai(2026, 11, 2, 9)  # a Monday
HOME = "北京市通州区张家湾镇XX小区3号楼"
FACTORY = "河北省廊坊市三河市燕郊镇化工园东侧"
AT_THE_GATE = "我家就在工厂对面，XX小区3号楼，每天夜里化工园东侧飘来刺鼻气味。"
CALLER = {**COMPLAINT["complainant"], "address": HOME}


def deliver(at):
    with time_machine.travel(at, tick=False):
        return deliver_outbox(utcnow())


def received_lead(db, origin_case_no) -> Complaint:
    return db.session.scalar(select(Complaint).where(Complaint.peer_case_no == origin_case_no))


def test_the_complainants_home_is_masked_and_the_place_of_the_pollution_is_not(api):
    case_no = api.register(description=AT_THE_GATE, complainant=CALLER,
                           location={"address": FACTORY, "lat": 39.95012, "lng": 116.81234})["case_no"]  # fmt: skip

    seen = api.complaint(case_no, as_="bj-supervisor")
    assert seen["location"]["address"] == FACTORY
    assert (seen["location"]["lat"], seen["location"]["lng"], seen["location"]["is_home"]) == (39.95012, 116.81234,
                                                                                                  False)  # fmt: skip
    assert seen["complainant"]["address"] == "北京市通州区****"
    assert "XX小区" not in seen["description"] and "化工园东侧" in seen["description"]
    whole = api.complaint(case_no, as_="bj-intake")
    assert whole["complainant"]["address"] == HOME and whole["description"] == AT_THE_GATE


def test_a_place_at_the_complainants_home_stays_masked(api):
    case_no = api.register(location={"address": HOME, "at_home": True})["case_no"]
    seen = api.complaint(case_no, as_="bj-supervisor")
    assert seen["location"]["address"] == "北京市通州区****" and seen["location"]["is_home"] is True
    assert seen["complainant"]["address"] == "北京市通州区****"
    assert api.complaint(case_no, as_="bj-intake")["location"]["address"] == HOME


def test_a_hotline_order_tells_the_callers_home_from_the_place(api, channel_key, client):
    key = channel_key("12345热线", "hotline_12345", "BJ")
    order = {"order_no": "GD-20261102-0001", "received_at": "2026-11-02T09:00:00+08:00", "type": "投诉",
             "content": AT_THE_GATE, "caller": {"name": "张三", "phone": "13812345678", "address": HOME},
             "address": "北京市通州区张家湾镇工业园8号"}  # fmt: skip
    answer = client.post("/api/v1/intake/orders", json={"orders": [order]}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.json
    case_no = answer.json["results"][0]["case_no"]
    seen = api.complaint(case_no, as_="bj-supervisor")
    assert seen["location"]["address"] == "北京市通州区张家湾镇工业园8号"
    assert seen["complainant"]["address"] == "北京市通州区****"


def test_the_web_intake_form_takes_the_home_apart_from_the_place(api, web):  # noqa: F811
    page = web("bj-intake")
    form = page.get("/complaints/new").text
    assert "污染发生地点" in form and "诉求人住址" in form
    posted = page.post("/complaints/new", data={
        "channel": "hotline_12369", "type": "complaint", "name": "张三", "phone": "13812345678",
        "complainant_address": HOME, "address": FACTORY, "description": AT_THE_GATE, "confirmed": "1",
        "csrf_token": csrf(page, "/complaints/new"),
    })  # fmt: skip
    assert posted.status_code == 302, posted.get_data(as_text=True)
    case_no = posted.headers["Location"].rsplit("/", 1)[-1]
    seen = api.complaint(case_no, as_="bj-supervisor")
    assert (seen["location"]["address"], seen["complainant"]["address"]) == (FACTORY, "北京市通州区****")


def test_a_key_lead_arrives_with_its_card_its_exact_place_and_its_grade(api, db, monkeypatch, web):  # noqa: F811
    sent = []
    from ecoflow.exchange import transport

    real = transport.send_local
    monkeypatch.setattr(transport, "send_local", lambda envelopes, now: sent.append(json.dumps(
        envelopes, ensure_ascii=False)) or real(envelopes, now))  # fmt: skip
    with time_machine.travel(START, tick=False):
        origin = api.to_handling(
            grade="key",
            categories=("air", "water"),
            description=AT_THE_GATE,
            complainant=CALLER,
            location={"address": FACTORY, "lat": 39.95, "lng": 116.8},
        )
        api.ok(origin, "transfer", "bj-officer", to_bureau="HE", reason="污染源位于三河市燕郊镇，属河北管辖。",
               callback=False, suspected_source="燕郊镇化工园东侧某化工厂", asks="请核查夜间排放并反馈",
               evidence=["11月1日夜间现场视频", "周边居民10人联名信"])  # fmt: skip
        due = api.complaint(origin)["clocks"]
    deliver(START + timedelta(minutes=1))
    wire = "".join(sent)
    assert FACTORY in wire and "XX小区" not in wire and "张三" not in wire

    he_case = received_lead(db, origin).case_no
    seen = api.complaint(he_case, as_="he-supervisor")
    lead = seen["lead"]
    reply_due = next(c["due_at"] for c in due if c["kind"] == "reply")
    assert lead == {
        "origin_bureau": "BJ", "origin_case_no": origin, "reason": "污染源位于三河市燕郊镇，属河北管辖。",
        "suspected_source": "燕郊镇化工园东侧某化工厂", "asks": "请核查夜间排放并反馈",
        "evidence": ["11月1日夜间现场视频", "周边居民10人联名信"], "files": None, "grade": "key",
        "categories": ["air", "water"], "reply_due_at": lead["reply_due_at"],
    }  # fmt: skip
    assert lead["reply_due_at"][:16] == reply_due[:16] or lead["reply_due_at"].startswith(reply_due[:10])
    assert seen["location"]["address"] == FACTORY and seen["location"]["lat"] == 39.95
    assert seen["suggestion"]["grade"] == "key" and seen["suggestion"]["categories"] == ["air", "water"]

    with time_machine.travel(START + timedelta(hours=1), tick=False):
        version = api.complaint(he_case, as_="he-supervisor")["version"]
        api.act(he_case, "sign_lead", "he-intake", version=version)
        version = api.complaint(he_case, as_="he-supervisor")["version"]
        assert api.act(he_case, "accept", "he-intake", version=version).status_code == 200
        version = api.complaint(he_case, as_="he-supervisor")["version"]
        graded = api.act(he_case, "grade", "he-dispatcher", version=version, grade="key", categories=["air", "water"])
        assert graded.status_code == 200, graded.json
    assert api.complaint(he_case, as_="he-supervisor")["on_ledger"] is True

    page = web("he-supervisor").get(f"/complaints/{he_case}").text
    for shown in ("兄弟单位移送线索", "北京市生态环境局", origin, "燕郊镇化工园东侧某化工厂", "请核查夜间排放并反馈",
                  "周边居民10人联名信", "重点", FACTORY):  # fmt: skip
        assert shown in page, shown


def test_old_leads_get_their_card_from_what_the_platform_still_knows(api, db, runner):
    origin = api.to_handling()
    api.ok(origin, "transfer", "bj-officer", to_bureau="HE", reason="属河北管辖。", callback=False,
           suspected_source="燕郊镇某化工厂")  # fmt: skip
    deliver(utcnow())
    old = received_lead(db, origin)
    old.lead = None  # as a lead received before cards were kept
    db.session.commit()

    result = runner.invoke(args=["ecoflow", "backfill-leads"])
    assert result.exit_code == 0 and "1 lead card(s) filled" in result.output, result.output
    db.session.expire_all()
    card = api.complaint(received_lead(db, origin).case_no, as_="he-supervisor")["lead"]
    assert (card["origin_case_no"], card["reason"], card["suspected_source"]) == (
        origin,
        "属河北管辖。",
        "燕郊镇某化工厂",
    )


def test_a_photo_sent_with_a_lead_opens_at_the_receiver_by_the_hash_the_lead_states(api, db, tmp_path, app, web):  # noqa: F811
    from PIL import Image

    from ecoflow.evidence.storage import LocalStorage

    from .test_evidence import jpeg_with_gps, upload

    previous = app.extensions["ecoflow.storage"]
    app.extensions["ecoflow.storage"] = LocalStorage(tmp_path / "evidence")
    try:
        origin = api.to_handling(grade="key", complainant=CALLER, location={"address": FACTORY})
        photo = upload(api, origin, jpeg_with_gps(), name="烟羽.jpg", caption="傍晚烟羽").json
        api.ok(origin, "transfer", "bj-officer", to_bureau="HE", reason="属河北管辖。", callback=False,
               attachments=[photo["id"]])  # fmt: skip
        deliver(utcnow())
        he_case = received_lead(db, origin).case_no
        (file,) = api.complaint(he_case, as_="he-supervisor")["lead"]["files"]
        assert file["sha256"] != photo["sha256"] and file["caption"] == "傍晚烟羽" and file["kind"] == "photo"

        opened = api.get(f"/api/v1/complaints/{he_case}/lead-files/{file['sha256']}", "he-officer")
        assert opened.status_code == 200 and hashlib.sha256(opened.data).hexdigest() == file["sha256"]
        assert 0x8825 not in Image.open(io.BytesIO(opened.data)).getexif()  # no GPS leaves the bureau
        opened.close()
        page = web("he-officer")
        link = f"/complaints/{he_case}/lead-files/{file['sha256']}"
        assert link in page.get(f"/complaints/{he_case}").text and "傍晚烟羽" in page.get(f"/complaints/{he_case}").text
        on_page = page.get(link)
        assert on_page.status_code == 200 and hashlib.sha256(on_page.data).hexdigest() == file["sha256"]
        on_page.close()
        assert api.get(f"/api/v1/complaints/{he_case}/lead-files/{photo['sha256']}", "he-officer").status_code == 404
        # The origin keeps both hashes on its transfer.
        transfer = next(e for e in api.events(origin) if e["action"] == "transfer")
        assert transfer["data"]["files_sent"] == [
            {"attachment": photo["id"], "sha256": photo["sha256"], "sent_sha256": file["sha256"]}
        ]
    finally:
        app.extensions["ecoflow.storage"] = previous
