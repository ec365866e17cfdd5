"""The intake form asks whether the complainant wants SMS notices (complainant.notify): ticked
“不接收短信通知”, nothing is queued to them; left alone, the receipt goes out at 受理."""

from __future__ import annotations

from sqlalchemy import select

from ecoflow.exchange.models import OutboxMessage

from .test_web import client, csrf, web  # noqa: F401 (fixtures)

FORM = {"channel": "hotline_12345", "type": "complaint", "name": "张三", "phone": "13812345678",
        "address": "北京市通州区梨园镇云景里小区", "description": "小区旁工厂每晚排放废气，异味刺鼻。"}  # fmt: skip


def register(web_client, **fields):
    token = csrf(web_client, "/complaints/new")
    response = web_client.post("/complaints/new", data={**FORM, **fields, "csrf_token": token})
    assert response.status_code == 302, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def sms_to(db, case_no):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.case_no == case_no)).all()


def test_the_complainant_who_declines_sms_at_intake_gets_none(web, api, db):  # noqa: F811
    intake = web("bj-intake")
    page = intake.get("/complaints/new").text
    assert "不接收短信通知" in page and 'name="declines_sms"' in page
    assert 'name="declines_sms" type="checkbox" value="y" checked' not in page  # unticked: SMS by default

    declined = register(intake, declines_sms="y")
    wants = register(
        intake,
        phone="13912345678",
        name="李四",
        address="北京市朝阳区望京街道阜通东大街",
        description="河道有黑水排出，气味很大。",
    )
    for case_no in (declined, wants):
        api.ok(case_no, "accept", "bj-intake")
    assert sms_to(db, declined) == []
    (receipt,) = sms_to(db, wants)
    assert receipt.payload["to"] == "13912345678" and wants in receipt.payload["text"]
