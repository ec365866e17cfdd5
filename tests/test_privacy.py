"""Personal data in free text: descriptions, notes, whistle and extension reasons, the public's
Open311 view; and searches that must not reveal what is masked."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ecoflow.complaints import privacy
from ecoflow.officers.models import Officer, RoleGrant

from .test_web import web  # noqa: F401

PHONE, NAME, ADDRESS = "13812345678", "张三", "北京市通州区梨园镇云景里小区3号楼"


def test_masks_show_no_more_than_a_mobiles_ends_or_the_district():
    assert privacy.mask_phone("13812345678") == "138****5678"
    assert privacy.mask_phone("62345678") == "****5678"  # a landline keeps its last four, not seven
    assert privacy.mask_phone("8123456") == "***3456"
    assert privacy.mask_name("张") == "*"
    assert privacy.mask_address(ADDRESS) == "北京市通州区****"
    # Cut at the district the address parser finds, never at the first 区 (of 小区, 三区, 校区).
    assert privacy.mask_address("河北省三河市燕郊镇福成小区3号楼") == "河北省三河市****"
    assert privacy.mask_address("北京市朝阳区望京西园三区222号楼") == "北京市朝阳区****"
    assert privacy.mask_address("北京市海淀区某大学东校区1号") == "北京市海淀区****"
    # Where the parser finds no district, the district the case was routed to, else nothing.
    assert privacy.mask_address("望京西园三区222号楼", "110105") == "北京市朝阳区****"
    assert privacy.mask_address("福成小区3号楼") == "****"


def test_the_description_is_masked_for_those_who_see_the_complainant_masked(api):
    description = f"我是{NAME}，电话138 1234 5678，住{ADDRESS}，邮箱zs@example.com，楼下饭店油烟直排"
    case_no = api.register(description=description)["case_no"]

    assert api.complaint(case_no, as_="bj-intake")["description"] == description
    assert api.complaint(case_no, as_="bj-supervisor")["description"] == (
        "我是张*，电话138****5678，住北京市通州区****，邮箱z***@example.com，楼下饭店油烟直排"
    )


def test_notes_with_spaced_or_landline_numbers_and_address_pieces_are_masked(api):
    case_no = api.to_handling()
    note = "已回电 138 1234 5678 和 010-62345678，约到云景里小区3号楼现场；工单BJ-20261201-0001已并案"
    api.ok(case_no, "contact", "bj-officer", method="phone", note=note)

    assert api.events(case_no, as_="bj-supervisor")[-1]["data"]["note"] == (
        "已回电 138****5678 和 010****5678，约到****现场；工单BJ-20261201-0001已并案"
    )


def test_a_phone_number_finds_no_case_for_those_who_see_it_masked(api):
    case_no = api.register(description=f"请回电{PHONE}，工厂夜间排放废气")["case_no"]

    def found(username, text):
        listed = api.get("/api/v1/complaints", username, query_string={"text": text}).json
        return [c["case_no"] for c in listed["items"]]

    assert found("bj-intake", PHONE) == [case_no]
    assert found("bj-supervisor", PHONE) == []
    assert found("bj-supervisor", "排放废气") == [case_no]  # words of the description still find it


def test_intake_in_another_bureau_does_not_unmask_searches_here(api, db):
    officer = db.session.scalar(select(Officer).where(Officer.username == "bj-supervisor"))
    officer.grants.append(RoleGrant(role="intake", bureau_code="TJ"))
    db.session.commit()
    api.register(location={"address": ADDRESS})

    listed = api.get("/api/v1/complaints", "bj-supervisor", query_string={"text": "云景里小区3号楼"}).json
    assert listed["items"] == []


def test_only_intake_checks_an_address_for_duplicates(api):
    api.register(location={"address": ADDRESS})
    probe = {"channel": "visit", "type": "complaint", "description": "x", "location": {"address": ADDRESS}}

    assert api.post("/api/v1/complaints/duplicates", "bj-intake", json=probe).json[0]["reason"]
    refused = api.post("/api/v1/complaints/duplicates", "bj-supervisor", json=probe)
    assert (refused.status_code, refused.json["error"]) == (403, "role_not_allowed")


def test_whistles_and_extensions_mask_the_complainant_on_the_board(api, web):  # noqa: F811
    case_no = api.to_handling()
    api.ok(case_no, "whistle", "bj-officer", reason=f"诉求人{NAME}（{PHONE}）反映夜间偷排")
    api.ok(case_no, "request_extension", "bj-officer", days=3, reason=f"{NAME}要求等待监测报告，电话{PHONE}")

    board = web("bj-supervisor").get("/supervision").text
    assert "138****5678" in board and PHONE not in board and NAME not in board
    for path in ("/api/v1/whistles", "/api/v1/supervision/whistles"):
        assert api.get(path, "bj-supervisor").json[0]["reason"] == "诉求人张*（138****5678）反映夜间偷排"


def test_the_public_open311_description_has_no_number_mail_or_address(client, channel_key, staff):
    key = channel_key("随手拍", "online", "BJ")
    description = "工厂夜间排放废气，请回电 010-62345678 或 139 0000 1111，邮箱 zs@example.com，我住云景里小区3号楼"
    form = {"api_key": key, "jurisdiction_id": "BJ", "service_code": "air", "attribute[ongoing]": "yes",
            "address_string": ADDRESS, "description": description, "phone": PHONE}  # fmt: skip
    case_no = client.post("/open311/v2/requests.json", data=form).json[0]["service_request_id"]

    public = client.get(f"/open311/v2/requests/{case_no}.json?jurisdiction_id=BJ").json[0]["description"]
    assert public.startswith("工厂夜间排放废气")
    for secret in ("62345678", "1111", "zs@example.com", "云景里", "3号楼"):
        assert secret not in public


def test_an_open311_requesters_contact_is_masked_on_the_timeline(api, client, channel_key):
    key = channel_key("随手拍", "online", "BJ")
    form = {"api_key": key, "jurisdiction_id": "BJ", "service_code": "air", "attribute[ongoing]": "yes",
            "address_string": ADDRESS, "description": "工厂晚上排放废气", "phone": PHONE,
            "email": "zhangsan@example.com", "device_id": "imei-8612345", "account_id": "wx-zhangsan"}  # fmt: skip
    case_no = client.post("/open311/v2/requests.json", data=form).json[0]["service_request_id"]

    masked = api.events(case_no, as_="bj-supervisor")[0]["data"]
    assert (masked["email"], masked["device_id"], masked["account_id"]) == ("****", "****", "****")
    assert api.events(case_no, as_="bj-intake")[0]["data"]["email"] == "zhangsan@example.com"


def test_a_failed_statement_never_shows_its_values_in_the_error_or_the_log(db):
    with pytest.raises(DBAPIError) as failed:
        db.session.execute(text("SELECT :phone FROM no_such_table"), {"phone": PHONE})
    db.session.rollback()
    assert PHONE not in str(failed.value)


def test_searches_are_no_oracle_for_a_masked_viewer(api):
    """Ten of the eleven digits, the complainant's name, their home estate: nothing for a masked viewer;
    the words the description shows them still find it."""
    description = f"我是{NAME}，电话139.1234.5678，住云景里小区，凉水河死鱼，小区东侧工厂夜间排放"
    case_no = api.register(description=description, location={"address": ADDRESS, "at_home": True})["case_no"]

    def found(username, text):
        listed = api.get("/api/v1/complaints", username, query_string={"text": text}).json
        return [c["case_no"] for c in listed["items"]]

    for probe in ("1391234567", "3912345678", "139.1234.567", "1234", NAME, "云景里小区", "云景里"):
        assert found("bj-supervisor", probe) == [], probe
    for probe in ("139.1234.567", "1234", NAME, "云景里小区", "云景里"):
        assert found("bj-intake", probe) == [case_no], probe
    for shown in ("凉水河死鱼", "小区东侧工厂", "139****5678", "5678"):
        assert found("bj-supervisor", shown) == [case_no], shown
