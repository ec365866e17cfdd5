"""Open311 GeoReport v2, driven over HTTP as a citizen app following the specification would:
discovery, services, service definitions, POST requests (form-encoded, api_key), GET requests
with the spec's filters and defaults, GET requests/<id>, tokens/<token>, in JSON and in XML, and
every error the specification lists, as [{code, description}] with the code as the HTTP status."""

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
import time_machine

from ecoflow.timeutil import utcnow

LISTS = {"services", "service_requests", "errors", "attributes", "values", "endpoints", "formats"}
FORMATS = ["json", "xml"]


def from_xml(element):
    """The XML document as the JSON one reads: lists of items, objects of fields, text leaves."""
    if element.tag in LISTS:
        return [from_xml(child) for child in element]
    if len(element):
        return {child.tag: from_xml(child) for child in element}
    text = element.text or ""
    return {"true": True, "false": False}.get(text, text)


class Open311:
    def __init__(self, base):
        self.base = base + "/open311/v2"

    def call(self, method, path, fmt, params=None, form=None):
        url = f"{self.base}/{path}.{fmt}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, content_type, body = response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            status, content_type, body = error.code, error.headers["Content-Type"], error.read()
        if fmt == "xml":
            assert content_type == "text/xml; charset=utf-8"
            assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
            return status, from_xml(ET.fromstring(body))
        assert content_type.startswith("application/json")
        return status, json.loads(body)

    def get(self, path, fmt, **params):
        return self.call("GET", path, fmt, params)

    def post(self, fmt, **form):
        return self.call("POST", "requests", fmt, form=form)


@pytest.fixture
def open311(live_server):
    return Open311(live_server)


@pytest.fixture
def key(channel_key):
    return channel_key("首都环保随手拍", "online", "BJ")


def request_form(key, **fields):
    form = {
        "api_key": key, "jurisdiction_id": "BJ", "service_code": "air", "attribute[ongoing]": "yes",
        "address_string": "北京市通州区梨园镇云景里小区3号楼", "description": "小区旁工厂晚上排放废气，异味很重。",
        "first_name": "三", "last_name": "张", "phone": "13812345678", "email": "zhang@example.com",
    }  # fmt: skip
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def assert_error(response, code, words):
    status, body = response
    assert status == code
    assert len(body) == 1 and body[0]["code"] in (code, str(code))
    assert words in body[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_and_its_formats(open311, fmt):
    status, body = open311.get("discovery", fmt)

    assert status == 200
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_of_a_jurisdiction_and_their_definitions(open311, staff, fmt):
    status, services = open311.get("services", fmt, jurisdiction_id="HE")

    assert status == 200
    assert [s["service_code"] for s in services] == ["air", "water", "noise", "solid_waste", "ecology", "other"]
    air = services[0]
    assert (air["service_name"], air["type"], air["metadata"]) == ("大气污染", "realtime", True)
    assert services[-1]["metadata"] is False

    status, definition = open311.get("services/air", fmt, jurisdiction_id="HE")

    assert status == 200
    assert definition["service_code"] == "air"
    ongoing = next(a for a in definition["attributes"] if a["code"] == "ongoing")
    assert (ongoing["datatype"], ongoing["required"], ongoing["variable"]) == ("singlevaluelist", True, True)
    assert {"key": "yes", "name": "是"} in ongoing["values"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_errors(open311, staff, fmt):
    assert_error(open311.get("services", fmt), 400, "jurisdiction_id was not provided")
    assert_error(open311.get("services", fmt, jurisdiction_id="XX"), 404, "jurisdiction_id XX not found")
    assert_error(open311.get("services/air", fmt), 400, "jurisdiction_id was not provided")
    assert_error(open311.get("services/air", fmt, jurisdiction_id="XX"), 404, "jurisdiction_id XX not found")
    assert_error(open311.get("services/potholes", fmt, jurisdiction_id="BJ"), 404, "service_code potholes not found")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_is_filed_routed_and_followed(open311, key, api, fmt):
    status, created = open311.post(fmt, **request_form(key))

    assert status == 201
    (receipt,) = created
    case_no, token = receipt["service_request_id"], receipt["token"]
    assert case_no.startswith("BJ-")

    case = api.complaint(case_no, as_="bj-intake")
    assert (case["channel"], case["state"], case["location"]["district"]) == ("online", "received", "110112")
    assert case["complainant"]["name"] == "张三"

    assert open311.get(f"tokens/{token}", fmt, jurisdiction_id="BJ") == (
        200, [{"service_request_id": case_no, "token": token}]
    )  # fmt: skip
    status, (request,) = open311.get(f"requests/{case_no}", fmt, jurisdiction_id="BJ")
    assert status == 200
    assert (request["status"], request["service_code"], request["service_name"]) == ("open", "air", "大气污染")
    assert request["agency_responsible"] == "北京市生态环境局"
    assert request["address"] == "北京市通州区****"
    # Before a dispatcher grades it, the deadline the suggested grade's reply clock gives from intake.
    assert case["suggestion"]["grade"] == "general" and case["grade"] is None
    expected = datetime.fromisoformat(request["expected_datetime"])
    assert expected - datetime.fromisoformat(case["received_at"]) == timedelta(days=7)  # 一般: 7 natural days
    assert request["expected_datetime"].endswith("+08:00")
    text = json.dumps(request, ensure_ascii=False)
    assert "13812345678" not in text and "张三" not in text and "云景里" not in text

    api.ok(case_no, "accept", "bj-intake")
    api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general",
           categories=["air"])  # fmt: skip
    api.ok(case_no, "sign", "bj-officer")
    replied = api.ok(case_no, "reply", "bj-officer", result="已整改", text="经查属实，已责令整改。")
    due = next(c["due_at"] for c in replied["clocks"] if c["kind"] == "reply")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")

    status, (request,) = open311.get(f"requests/{case_no}", fmt, jurisdiction_id="BJ")
    assert (request["status"], request["status_notes"], request["agency_responsible"]) == ("closed", "办结", "通州分局")
    assert request["expected_datetime"][:16] == _shanghai(due)[:16]


def _shanghai(iso):
    from datetime import datetime

    from ecoflow.timeutil import SHANGHAI

    return datetime.fromisoformat(iso).astimezone(SHANGHAI).isoformat()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_error_of_post_requests(open311, key, channel_key, api, fmt):
    hotline = channel_key("12345热线", "hotline_12345", "BJ")
    tianjin = channel_key("天津App", "online", "TJ")
    cases = [
        (request_form(None), 403, "api_key was not provided"),
        (request_form("ecf_wrong"), 403, "api_key is not valid"),
        (request_form(hotline), 403, "api_key is not valid"),
        (request_form(tianjin), 403, "api_key is not valid for jurisdiction_id BJ"),
        (request_form(key, jurisdiction_id="XX"), 404, "jurisdiction_id XX not found"),
        (request_form(key, service_code=None), 400, "service_code was not provided"),
        (request_form(key, service_code="potholes"), 404, "service_code potholes not found"),
        (request_form(key, address_string=None), 400, "a location is required"),
        (request_form(key, address_string=None, lat="39.9"), 400, "a location is required"),
        (request_form(key, lat="north"), 400, "lat must be a number"),
        (request_form(key, **{"attribute[ongoing]": None}), 400, "attribute[ongoing] is required"),
        (request_form(key, **{"attribute[ongoing]": "maybe"}), 400, "attribute[ongoing] must be one of"),
        (request_form(key, description="x" * 4001), 400, "description is invalid"),
        (request_form(key, description="bad\x00byte"), 400, "description is invalid"),
        (request_form(key, phone="call me"), 400, "phone is invalid"),
    ]
    for form, code, words in cases:
        assert_error(open311.post(fmt, **form), code, words)
    assert api.get("/api/v1/complaints", "bj-intake").json["total"] == 0  # nothing half-written


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_by_coordinates_alone_goes_to_the_dispatcher_flagged(open311, key, api, fmt):
    status, (receipt,) = open311.post(fmt, **request_form(key, address_string=None, lat="39.9", long="116.65"))

    assert status == 201
    case = api.complaint(receipt["service_request_id"], as_="bj-dispatcher")
    assert case["routing"]["flag"] == "unparsed"


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters_and_defaults(open311, key, api, fmt):
    with time_machine.travel(utcnow() - timedelta(days=100), tick=False):
        old = open311.post(fmt, **request_form(key))[1][0]["service_request_id"]
    air = open311.post(fmt, **request_form(key))[1][0]["service_request_id"]
    noise = open311.post(fmt, **request_form(key, service_code="noise", description="夜间施工噪音扰民。"))[1][0]
    noise = noise["service_request_id"]
    api.register()  # by phone: never listed by Open311
    api.ok(noise, "reject", "bj-intake", reason="不属于生态环境部门职责")

    def ids(**params):
        status, body = open311.get("requests", fmt, **{"jurisdiction_id": "BJ", **params})
        assert status == 200, body
        return [r["service_request_id"] for r in body]

    assert ids() == [noise, air]  # the last 90 days, newest first
    assert ids(status="open") == [air]
    assert ids(status="closed") == [noise]
    assert ids(status="open,closed") == [noise, air]
    assert ids(service_code="noise") == [noise]
    assert ids(service_code="air,noise") == [noise, air]
    assert ids(service_request_id=f"{old},{air}", status="closed") == [air, old]  # the ids alone count
    start = (utcnow() - timedelta(days=120)).isoformat()
    assert ids(start_date=start) == [old]
    assert ids(start_date=start, end_date=(utcnow() - timedelta(days=95)).isoformat()) == [old]
    assert ids(jurisdiction_id="TJ") == []

    assert_error(open311.get("requests", fmt), 400, "jurisdiction_id was not provided")
    assert_error(open311.get("requests", fmt, jurisdiction_id="XX"), 404, "jurisdiction_id XX not found")
    assert_error(open311.get("requests", fmt, jurisdiction_id="BJ", start_date="yesterday"), 400, "start_date")
    assert_error(open311.get("requests", fmt, jurisdiction_id="BJ", end_date="2026-11-01T00:00:00"), 400, "end_date")
    assert_error(open311.get("requests", fmt, jurisdiction_id="BJ", start_date=start,
                             end_date=utcnow().isoformat()), 400, "at most 90 days")  # fmt: skip
    assert_error(open311.get("requests", fmt, jurisdiction_id="BJ", status="pending"), 400, "status")


@pytest.mark.parametrize("fmt", FORMATS)
def test_errors_of_a_single_request_and_of_tokens(open311, key, api, fmt):
    phoned = api.register()["case_no"]

    assert_error(open311.get("requests/BJ-20260101-9999", fmt, jurisdiction_id="BJ"), 404,
                 "service_request_id BJ-20260101-9999 not found")  # fmt: skip
    assert_error(open311.get(f"requests/{phoned}", fmt, jurisdiction_id="BJ"), 404, "not found")
    assert_error(open311.get(f"requests/{phoned}", fmt), 400, "jurisdiction_id was not provided")
    assert_error(open311.get(f"requests/{phoned}", fmt, jurisdiction_id="XX"), 404, "jurisdiction_id XX not found")
    assert_error(open311.get("tokens/no-such-token", fmt, jurisdiction_id="BJ"), 404, "token no-such-token not found")
    assert_error(open311.get("tokens/no-such-token", fmt, jurisdiction_id="XX"), 404, "jurisdiction_id XX not found")


def test_the_cli_prints_a_key_that_files_requests(runner, open311, staff):
    result = runner.invoke(args=["ecoflow", "open311-key", "create", "津心办", "--bureau", "TJ"])
    assert result.exit_code == 0, result.output
    key = result.output.split(": ")[-1].split()[0]

    status, (receipt,) = open311.post("json", **request_form(key, jurisdiction_id="TJ",
                                                             address_string="天津市武清区杨村街道"))  # fmt: skip

    assert status == 201 and receipt["service_request_id"].startswith("TJ-")
    unknown = runner.invoke(args=["ecoflow", "open311-key", "create", "x", "--bureau", "XX"])
    assert unknown.exit_code != 0 and "没有代码为 XX 的单位" in unknown.output


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "0001-01-01T00:00:00+00:00"},
        {"end_date": "0001-01-01T00:00:00+00:00"},
        {"start_date": "9999-12-31T23:59:59+00:00"},
        {"start_date": "2026-13-45T00:00:00+08:00"},
        {"status": "open\x00"},
        {"service_request_id": ",".join(["x" * 300] * 50)},
        {"service_code": "air\x7f,\u00e9" * 200},
        {"jurisdiction_id": "B" * 5000},
        {"jurisdiction_id": "BJ\x00"},
        {"service_request_id": "BJ\x00,\x00"},
        {"service_code": "air\x00"},
    ],
)
def test_hostile_queries_get_a_spec_error_or_an_answer_never_a_500(client, staff, params):
    response = client.get("/open311/v2/requests.json", query_string={"jurisdiction_id": "BJ", **params})

    assert response.status_code in (200, 400, 404)
    assert isinstance(response.json, list)


@pytest.mark.parametrize(
    "path",
    ["services/" + "a" * 3000 + ".xml", "requests/" + "\u00e9" * 500 + ".json", "tokens/%00.json",
     "requests/BJ-20261122-0001.json", "requests/%00.json", "services/air%00.json"],
)  # fmt: skip
def test_hostile_paths_get_a_spec_error(client, staff, path):
    response = client.get(f"/open311/v2/{path}", query_string={"jurisdiction_id": "BJ"})

    assert response.status_code in (400, 404)
