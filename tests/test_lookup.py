"""The citizen's own case: a public page and endpoint that take the case number and the last four
digits of the phone, show the state, the deadline and the reply once given, say nothing when the
digits are wrong, and are rate-limited."""

import re
from datetime import datetime

import pytest

from ecoflow.extensions import limiter

NOT_FOUND = "未找到与该受理编号和手机尾号相符的诉求，请核对后重试。"


@pytest.fixture(autouse=True)
def fresh_limits(app):
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


def lookup(client, case_no, last4):
    return client.post("/api/v1/public/lookup", json={"case_no": case_no, "phone_last4": last4})


def test_the_complainant_sees_state_deadline_and_reply(api, client):
    case_no = api.to_handling()

    handling = lookup(client, case_no, "5678")

    assert handling.status_code == 200
    found = handling.json
    assert (found["state"], found["state_label"], found["reply"]) == ("handling", "办理中", None)
    reply_due = next(c["due_at"] for c in api.complaint(case_no)["clocks"] if c["kind"] == "reply")
    assert found["deadline"].endswith("+08:00")
    assert datetime.fromisoformat(found["deadline"]) == datetime.fromisoformat(reply_due)

    api.ok(case_no, "reply", "bj-officer", result="已整改", text="经查属实，已责令整改，回访电话13812345678。")
    replied = lookup(client, case_no, "5678").json

    assert replied["state"] == "replied"
    assert replied["reply"]["result"] == "已整改"
    assert replied["reply"]["text"] == "经查属实，已责令整改，回访电话138****5678。"
    body = str(replied)
    assert "张三" not in body and "云景里" not in body and "bj-officer" not in body
    assert set(replied) == {"case_no", "state", "state_label", "status", "received_at", "deadline", "reply"}


def test_a_wrong_suffix_says_nothing_about_whether_the_case_exists(api, client):
    case_no = api.register()["case_no"]
    no_phone = api.register(complainant={"name": "匿名"})["case_no"]

    answers = [
        lookup(client, case_no, "0000"),
        lookup(client, "BJ-20990101-0001", "5678"),
        lookup(client, "BJ-20990101-0001", "0000"),
        lookup(client, no_phone, "0000"),
    ]

    assert {(r.status_code, r.get_data()) for r in answers} == {(404, answers[0].get_data())}
    assert answers[0].json == {"error": "not_found", "message": NOT_FOUND, "details": {}}


@pytest.mark.parametrize(
    "body",
    [{"case_no": "BJ-20261122-0001"}, {"case_no": "x", "phone_last4": "5678"}, {"case_no": "BJ-20261122-0001",
     "phone_last4": "56a8"}, {"case_no": 7, "phone_last4": 5678}, {"phone_last4": "5678"},
     {"case_no": "BJ-20261122-0001", "order_no": "12345-1", "phone_last4": "5678"},
     {"order_no": " ", "phone_last4": "5678"}, {"order_no": "x" * 65, "phone_last4": "5678"}],
)  # fmt: skip
def test_malformed_lookups_are_refused(client, staff, body):
    response = client.post("/api/v1/public/lookup", json=body)
    assert (response.status_code, response.json["error"]) == (422, "invalid")


def test_the_lookup_is_rate_limited(api, client):
    case_no = api.register()["case_no"]
    answers = [lookup(client, case_no, f"{n:04d}").status_code for n in range(10)]
    assert answers == [404] * 10

    blocked = lookup(client, case_no, "5678")  # even the right digits: the limit counts every try

    assert blocked.status_code == 429
    assert blocked.json["error"] == "too_many_requests"
    assert client.get("/lookup").status_code == 200  # reading the page is not a try
    assert client.post("/lookup", data={"number": case_no, "phone_last4": "5678"}).status_code == 429


def test_the_public_page_in_chinese(live_server, api):
    import urllib.error
    import urllib.parse
    import urllib.request

    case_no = api.to_handling()

    def submit(case, digits):
        data = urllib.parse.urlencode({"number": case, "phone_last4": digits}).encode()
        try:
            with urllib.request.urlopen(live_server + "/lookup", data=data, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    with urllib.request.urlopen(live_server + "/lookup", timeout=30) as response:
        page = response.read().decode()
    assert '<html lang="zh-CN">' in page and "诉求办理进度查询" in page
    stylesheet = re.search(r'href="([^"]+\.css)"', page).group(1)
    with urllib.request.urlopen(live_server + stylesheet, timeout=30) as response:
        assert response.status == 200 and b"font-family" in response.read()
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere

    status, found = submit(case_no, "5678")
    assert status == 200
    assert '<dd id="state">办理中</dd>' in found and case_no in found

    wrong = submit(case_no, "0000")
    unknown = submit("BJ-20990101-0001", "0000")
    assert wrong[0] == unknown[0] == 404
    assert NOT_FOUND in wrong[1]
    assert wrong[1].replace(f'value="{case_no}"', "") == unknown[1].replace('value="BJ-20990101-0001"', "")
    by_order = submit(" 12345-20261122-000777 ", "0000")
    assert by_order[0] == 404 and by_order[1].replace('value="12345-20261122-000777"', "") == unknown[1].replace(
        'value="BJ-20990101-0001"', "")  # fmt: skip

    status, invalid = submit("nonsense", "12")
    assert status == 422 and "请输入手机号后四位数字。" in invalid


def test_the_case_is_found_by_its_number_in_any_case_or_by_the_centres_order_number(api, client, channel_key):
    key = channel_key("北京12345热线", "hotline_12345")
    order = {"order_no": "12345-20261122-000123", "received_at": "2026-11-22T09:30:00+08:00", "type": "投诉",
             "content": "小区旁工厂每晚排放废气。", "caller": {"name": "张三", "phone": "13812345678"},
             "address": "北京市通州区梨园镇云景里小区"}  # fmt: skip
    answer = client.post("/api/v1/intake/orders", json={"orders": [order]}, headers={"Authorization": f"Bearer {key}"})
    case_no = answer.json["results"][0]["case_no"]

    for body in ({"case_no": f"  {case_no.lower()} "}, {"order_no": "12345-20261122-000123"},
                 {"order_no": " 12345-20261122-000123\t"}, {"order_no": "12345-20261122-000123".lower()}):  # fmt: skip
        found = client.post("/api/v1/public/lookup", json={**body, "phone_last4": " 5678 "})
        assert (found.status_code, found.json.get("case_no")) == (200, case_no), body
    misses = [client.post("/api/v1/public/lookup", json={**body, "phone_last4": digits})
              for body, digits in (({"order_no": "12345-20261122-000123"}, "0000"),
                                   ({"order_no": "12345-20261122-999999"}, "5678"),
                                   ({"case_no": "BJ-20990101-0001"}, "5678"))]  # fmt: skip
    assert {(r.status_code, r.get_data()) for r in misses} == {(404, misses[0].get_data())}

    page = client.post("/lookup", data={"number": " 12345-20261122-000123 ", "phone_last4": "5678"})
    assert page.status_code == 200 and case_no in page.get_data(as_text=True)
