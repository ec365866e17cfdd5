"""宣传曝光 with photos, across bureaus: the chosen photos travel inside `exposure.publish` as copies
without metadata, the peer keeps copies of its own made again without any, shows them on its board
beside the text, and takes them off when the publisher withdraws the case."""

from __future__ import annotations

import base64
import io

import time_machine
from PIL import Image

from ecoflow.exchange.models import OutboxMessage
from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.timeutil import utcnow

from .test_evidence import PDF, jpeg_with_gps, upload
from .test_exposure import START, publish


def test_the_chosen_photos_reach_the_peers_boards_without_metadata(api, app, client, db, monkeypatch):
    with time_machine.travel(START, tick=False):
        case_no = api.to_handling(complainant={"name": "张三", "phone": "13812345678", "notify": False})
        photo = upload(api, case_no, jpeg_with_gps(size=(320, 240), orientation=6), caption="排污口").json
        upload(api, case_no, jpeg_with_gps(), name="not-chosen.jpg")
        upload(api, case_no, PDF, name="监测报告.pdf", kind="document")
        api.ok(case_no, "reply", "bj-officer", result="已责令整改", text="已处理。")
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    published = publish(api, case_no, title="工厂偷排废气被责令整改", photos=[photo["id"]])
    assert published.status_code == 201, published.json

    sent = db.session.query(OutboxMessage).filter_by(type="exposure.publish").all()
    assert sorted(m.recipient for m in sent) == ["HE", "TJ"]
    [carried] = sent[0].payload["photos"]
    content = base64.b64decode(carried["data"])
    assert b"PhoneMaker" not in content and not Image.open(io.BytesIO(content)).getexif()
    assert carried["sha256"] != photo["sha256"]  # the copy, not the original
    db.session.rollback()

    assert deliver_outbox(utcnow()) == 2  # to Tianjin and Hebei, through the local transport
    monkeypatch.setattr(app.extensions["ecoflow.trust"], "hosted", ["TJ"])  # as Tianjin's own instance would
    [shown] = client.get("/api/v1/public/exposures").json["peers"]
    assert shown["title"] == "工厂偷排废气被责令整改" and len(shown["photos"]) == 1
    image = client.get(shown["photos"][0].split("localhost", 1)[-1])  # public: no login
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    kept = Image.open(io.BytesIO(image.data))
    assert not kept.getexif() and kept.size == (240, 320)  # upright, nothing of the camera or the place
    image.close()
    html = client.get("/public/exposures").get_data(as_text=True)
    assert 'src="/public/exposures/peers/' in html  # beside the publisher's own (one database here)

    with time_machine.travel(START.replace(hour=16), tick=False):
        assert api.post(f"/api/v1/exposures/{published.json['id']}/withdraw", "bj-supervisor").status_code == 200
    assert deliver_outbox(utcnow()) == 2
    assert client.get(shown["photos"][0].split("localhost", 1)[-1]).status_code == 404


def test_a_peer_photo_that_is_not_what_its_hash_says_is_left_out(app, db):
    from ecoflow.exposure.services import keep_peer_photos

    payload = {"case_no": "HE-20261101-0007", "title": "石料厂粉尘污染整改到位", "summary": "…",
               "closed_at": "2026-11-05T10:00:00+08:00",
               "photos": [{"sha256": "0" * 64, "content_type": "image/jpeg",
                           "data": base64.b64encode(jpeg_with_gps()).decode()}]}  # fmt: skip
    assert keep_peer_photos(payload)["photos"] == []
