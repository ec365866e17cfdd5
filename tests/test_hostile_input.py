"""Malformed or hostile input always gets a 4xx in the one JSON error shape, never a 500, and a failed
action leaves the case and its events exactly as they were.

Covered: intake (POST /complaints), actions (POST /complaints/<case_no>/actions/<action>), tokens
(POST /auth/token) and bearer tokens, case and action names, content types, non-object JSON, broken
JSON, control characters, surrogates, huge and deeply nested bodies, wrong types for `version`,
unknown fields, list filters; SQL fragments and LIKE wildcards are taken literally.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer

API = "/api/v1"
PASSWORD = "pw-for-tests"  # every test officer's password (tests/conftest.py)
MB = 1024 * 1024

# Placeholders in the parametrised bodies below.
NO_VERSION = object()  # send the body without `version`
SELF = object()  # the case's own case number
DELETE = object()  # drop this field from the intake body

SQL = "'); DROP TABLE complaints; --"


# --- helpers ----------------------------------------------------------------------------------


def assert_error(response, status: int, code: str | None = None) -> dict:
    """`response` is the JSON error shape {"error", "message", "details"} with this status."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {text[:500]}"
    assert response.is_json, f"not JSON: {response.content_type} {text[:200]}"
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error", "message", "details"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], dict), body
    if code is not None:
        assert body["error"] == code, body
    return body


def assert_invalid(response, *path: str) -> dict:
    """A 422 whose details["fields"] names the field at `path` (nested schemas nest)."""
    body = assert_error(response, 422, "invalid")
    node = body["details"].get("fields")
    assert isinstance(node, dict) and node, body
    for key in path:
        assert isinstance(node, dict) and key in node, f"no error for {'.'.join(path)}: {body['details']}"
        node = node[key]
    assert node, body
    return body


def nested(depth: int, leaf="x", kind="list") -> str:
    """JSON text of `leaf` wrapped in `depth` arrays (or objects)."""
    if kind == "list":
        return "[" * depth + json.dumps(leaf) + "]" * depth
    return '{"a":' * depth + json.dumps(leaf) + "}" * depth


def intake_body(**changes) -> dict:
    body = {
        "channel": "hotline_12345",
        "type": "complaint",
        "description": "小区旁边的工厂每天晚上排放废气，异味很重。",
        "complainant": {"name": "张三", "phone": "13812345678", "callback_consent": True},
        "location": {"address": "北京市通州区梨园镇云景里小区3号楼"},
    }
    for key, value in changes.items():
        if value is DELETE:
            body.pop(key)
        else:
            body[key] = value
    return body


def make_case(api, state: str) -> str:
    """A fresh case in `state`."""
    if state == "handling":
        return api.to_handling()
    case_no = api.register()["case_no"]
    if state == "received":
        return case_no
    if state == "rejected":
        api.ok(case_no, "reject", "bj-intake", reason="不属于本局职责。")
        return case_no
    api.ok(case_no, "accept", "bj-intake")
    if state == "accepted":
        return case_no
    api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general",
           categories=["air"])  # fmt: skip
    if state == "assigned":
        return case_no
    raise AssertionError(state)


def snapshot(api, case_no: str):
    """What anyone can see of a case: the complaint and its events."""
    return api.complaint(case_no), api.events(case_no)


def total(api, as_="bj-supervisor", **params) -> int:
    response = api.get(f"{API}/complaints", as_, query_string=params)
    assert response.status_code == 200, response.json
    return response.json["total"]


def post_raw(api, path, as_, data, content_type="application/json"):
    headers = api.headers(as_) if as_ else {}
    return api.client.post(path, headers=headers, data=data, content_type=content_type)


def action_path(case_no, action):
    return f"{API}/complaints/{case_no}/actions/{action}"


# --- bodies that are not a JSON object --------------------------------------------------------

NOT_AN_OBJECT = [
    pytest.param(b"", "application/json", id="empty"),
    pytest.param(b"not json", "application/json", id="not-json"),
    pytest.param(b'{"version": 1', "application/json", id="truncated"),
    pytest.param(b'{"version": 1,}', "application/json", id="trailing-comma"),
    pytest.param(b"{'version': 1}", "application/json", id="single-quotes"),
    pytest.param(b'{"version": 1} {"version": 2}', "application/json", id="two-documents"),
    pytest.param(b'{"reason": "a\x01b", "version": 1}', "application/json", id="raw-control-char-in-string"),
    pytest.param(b'{"reason": "a\x00b", "version": 1}', "application/json", id="raw-nul-in-string"),
    pytest.param(b"\xff\xfe\xfa\x00{", "application/json", id="invalid-utf8"),
    pytest.param(b"[]", "application/json", id="array"),
    pytest.param(b'[{"version": 1}]', "application/json", id="array-of-object"),
    pytest.param(b'"version"', "application/json", id="string"),
    pytest.param(b"42", "application/json", id="number"),
    pytest.param(b"-1.5e300", "application/json", id="float"),
    pytest.param(b"null", "application/json", id="null"),
    pytest.param(b"true", "application/json", id="bool"),
    pytest.param(b'{"version": 1}', "text/plain", id="text-plain"),
    pytest.param(b"version=1&reason=x", "application/x-www-form-urlencoded", id="form"),
    pytest.param(b'{"version": 1}', "application/xml", id="xml-type"),
    pytest.param(b'{"version": 1}', None, id="no-content-type"),
]

DEEP = [
    pytest.param(nested(100_000), id="array-depth-100000"),
    pytest.param(nested(5_000, kind="object"), id="object-depth-5000"),
    pytest.param('{"version": 1, "reason": ' + nested(50_000) + "}", id="field-depth-50000"),
]


@pytest.mark.parametrize(("data", "content_type"), NOT_AN_OBJECT)
def test_intake_refuses_a_body_that_is_not_a_json_object(api, data, content_type):
    before = total(api)

    response = post_raw(api, f"{API}/complaints", "bj-intake", data, content_type)

    assert_error(response, 400, "malformed_json")
    assert total(api) == before


@pytest.mark.parametrize(("data", "content_type"), NOT_AN_OBJECT)
@pytest.mark.parametrize("action", ["accept", "reject", "merge"])
def test_action_refuses_a_body_that_is_not_a_json_object(api, action, data, content_type):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)

    response = post_raw(api, action_path(case_no, action), "bj-intake", data, content_type)

    assert_error(response, 400, "malformed_json")
    assert snapshot(api, case_no) == before


@pytest.mark.parametrize(("data", "content_type"), NOT_AN_OBJECT)
def test_token_refuses_a_body_that_is_not_a_json_object(client, staff, data, content_type):
    response = client.post(f"{API}/auth/token", data=data, content_type=content_type)

    assert_error(response, 400, "malformed_json")


def test_multipart_form_is_not_json(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)

    response = api.post(action_path(case_no, "reject"), "bj-intake", data={"version": "2", "reason": "x"})

    assert_error(response, 400, "malformed_json")
    assert snapshot(api, case_no) == before


@pytest.mark.parametrize("data", DEEP)
def test_deeply_nested_json_is_refused_at_intake(api, data):
    before = total(api)

    response = post_raw(api, f"{API}/complaints", "bj-intake", data)

    assert_error(response, 400, "malformed_json")
    assert total(api) == before


@pytest.mark.parametrize("data", DEEP)
def test_deeply_nested_json_is_refused_by_actions(api, data):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)

    response = post_raw(api, action_path(case_no, "reject"), "bj-intake", data)

    assert_error(response, 400, "malformed_json")
    assert snapshot(api, case_no) == before


@pytest.mark.parametrize("data", DEEP)
def test_deeply_nested_json_is_refused_by_token(client, staff, data):
    response = client.post(f"{API}/auth/token", data=data, content_type="application/json")

    assert_error(response, 400, "malformed_json")


def test_moderately_nested_json_in_a_text_field_is_a_field_error(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    version = before[0]["version"]

    response = post_raw(
        api, action_path(case_no, "reject"), "bj-intake", f'{{"version": {version}, "reason": {nested(20)}}}'
    )

    assert_invalid(response, "reason")
    assert snapshot(api, case_no) == before


def test_json_nested_past_the_depth_limit_is_400_too_deep(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    version = before[0]["version"]

    response = post_raw(
        api, action_path(case_no, "reject"), "bj-intake", f'{{"version": {version}, "reason": {nested(200)}}}'
    )

    assert_error(response, 400, "too_deep")
    assert snapshot(api, case_no) == before


# --- bodies too large -------------------------------------------------------------------------


def test_intake_body_over_one_megabyte_is_413(api):
    before = total(api)

    response = api.post(f"{API}/complaints", "bj-intake", json=intake_body(description="废" * MB))

    assert_error(response, 413)
    assert total(api) == before


def test_action_body_over_one_megabyte_is_413(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)

    response = api.act(case_no, "reject", "bj-intake", reason="x" * (MB + 1))

    assert_error(response, 413)
    assert snapshot(api, case_no) == before


def test_token_body_over_one_megabyte_is_413(client, staff):
    response = client.post(f"{API}/auth/token", json={"username": "bj-intake", "password": "p" * (2 * MB)})

    assert_error(response, 413)


def test_huge_but_allowed_body_with_too_long_text_is_422(api):
    before = total(api)

    response = api.post(f"{API}/complaints", "bj-intake", json=intake_body(description="x" * 900_000))

    assert_invalid(response, "description")
    assert total(api) == before


# --- intake: field validation -----------------------------------------------------------------

CONTROL_CHARACTERS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x0e", "\x1b[2J", "\x1f", "\x7f"]

INTAKE_INVALID = [
    # missing
    pytest.param({"channel": DELETE}, ("channel",), id="no-channel"),
    pytest.param({"type": DELETE}, ("type",), id="no-type"),
    pytest.param({"description": DELETE}, ("description",), id="no-description"),
    pytest.param({"location": DELETE}, ("location",), id="no-location"),
    pytest.param({"location": {}}, ("location", "address"), id="no-address"),
    # wrong types
    pytest.param({"channel": 12345}, ("channel",), id="channel-int"),
    pytest.param({"channel": ["online"]}, ("channel",), id="channel-list"),
    pytest.param({"channel": None}, ("channel",), id="channel-null"),
    pytest.param({"type": {"$ne": None}}, ("type",), id="type-object"),
    pytest.param({"description": 42}, ("description",), id="description-int"),
    pytest.param({"description": ["a", "b"]}, ("description",), id="description-list"),
    pytest.param({"description": {"text": "x"}}, ("description",), id="description-object"),
    pytest.param({"description": None}, ("description",), id="description-null"),
    pytest.param({"description": True}, ("description",), id="description-bool"),
    pytest.param({"complainant": "张三"}, ("complainant",), id="complainant-string"),
    pytest.param({"complainant": ["张三"]}, ("complainant",), id="complainant-list"),
    pytest.param({"location": "北京"}, ("location",), id="location-string"),
    pytest.param({"location": {"address": "x", "lat": "north"}}, ("location", "lat"), id="lat-string"),
    pytest.param({"location": {"address": "x", "lat": True}}, ("location", "lat"), id="lat-bool"),
    pytest.param({"location": {"address": "x", "lat": 91}}, ("location", "lat"), id="lat-out-of-range"),
    pytest.param({"location": {"address": "x", "lng": -1e308}}, ("location", "lng"), id="lng-out-of-range"),
    pytest.param({"location": {"address": "x", "lat": "NaN"}}, ("location", "lat"), id="lat-nan-string"),
    pytest.param({"location": {"address": "x", "district": "11'; --"}}, ("location", "district"), id="district-sql"),
    pytest.param({"location": {"address": "x", "district": "1" * 13}}, ("location", "district"), id="district-long"),
    pytest.param({"sensitive": "maybe"}, ("sensitive",), id="sensitive-string"),
    pytest.param({"sensitive": 2}, ("sensitive",), id="sensitive-int"),
    pytest.param({"external_id": 12345}, ("external_id",), id="external-id-int"),
    pytest.param({"external_id": ""}, ("external_id",), id="external-id-empty"),
    pytest.param({"external_id": "9" * 65}, ("external_id",), id="external-id-long"),
    pytest.param({"external_id": "A\x00B"}, ("external_id",), id="external-id-nul"),
    # unknown codes
    pytest.param({"channel": "fax"}, ("channel",), id="channel-unknown"),
    pytest.param({"channel": "HOTLINE_12345"}, ("channel",), id="channel-case"),
    pytest.param({"type": "' OR '1'='1"}, ("type",), id="type-sql"),
    pytest.param({"bureau": "XX"}, ("bureau",), id="bureau-unknown"),
    pytest.param({"bureau": "BJ\x00"}, ("bureau",), id="bureau-nul"),
    # empty, blank and huge text
    pytest.param({"description": ""}, ("description",), id="description-empty"),
    pytest.param({"description": " \t\n "}, ("description",), id="description-blank"),
    pytest.param({"description": "x" * 4001}, ("description",), id="description-4001"),
    pytest.param({"location": {"address": "x" * 201}}, ("location", "address"), id="address-201"),
    pytest.param({"complainant": {"name": "x" * 51}}, ("complainant", "name"), id="name-51"),
    pytest.param({"complainant": {"phone": "call me"}}, ("complainant", "phone"), id="phone-junk"),
    pytest.param({"complainant": {"phone": "1' OR '1'='1"}}, ("complainant", "phone"), id="phone-sql"),
    pytest.param({"complainant": {"phone": "138\x0012345678"}}, ("complainant", "phone"), id="phone-nul"),
    pytest.param({"complainant": {"phone": "1" * 30}}, ("complainant", "phone"), id="phone-long"),
    # times
    pytest.param({"received_at": "notadate"}, ("received_at",), id="received-at-junk"),
    pytest.param({"received_at": "2026-02-30T10:00:00+08:00"}, ("received_at",), id="received-at-feb-30"),
    pytest.param({"received_at": 1700000000}, ("received_at",), id="received-at-epoch"),
    pytest.param({"received_at": "9999-12-31T23:59:59+08:00"}, ("received_at",), id="received-at-future"),
    pytest.param({"received_at": "0001-01-01T00:00:00+08:00"}, ("received_at",), id="received-at-year-1"),
    # unknown fields, at the top and nested
    pytest.param({"priority": "highest"}, ("priority",), id="unknown-field"),
    pytest.param({"state": "closed"}, ("state",), id="unknown-field-state"),
    pytest.param({"case_no": "BJ-20260101-0001"}, ("case_no",), id="unknown-field-case-no"),
    pytest.param({"complainant": {"name": "张三", "email": "a@b.c"}}, ("complainant", "email"), id="unknown-nested"),
    pytest.param({"location": {"address": "x", "geom": "POINT(0 0)"}}, ("location", "geom"), id="unknown-location"),
    pytest.param({"description\x00": "x"}, ("description\x00",), id="unknown-field-nul-name"),
]
INTAKE_INVALID += [
    pytest.param({"description": f"工厂排放废气{c}异味很重"}, ("description",), id=f"description-ctrl-{ord(c[0]):02x}")
    for c in CONTROL_CHARACTERS
]
INTAKE_INVALID += [
    pytest.param({"location": {"address": f"通州区{c}"}}, ("location", "address"), id=f"address-ctrl-{ord(c[0]):02x}")
    for c in ("\x00", "\x1b", "\x7f")
]
INTAKE_INVALID += [
    pytest.param({"complainant": {"name": f"张{c}三"}}, ("complainant", "name"), id=f"name-ctrl-{ord(c[0]):02x}")
    for c in ("\x00", "\x08")
]


@pytest.mark.parametrize(("changes", "path"), INTAKE_INVALID)
def test_intake_field_errors_are_422_per_field(api, changes, path):
    before = total(api)

    response = api.post(f"{API}/complaints", "bj-intake", json=intake_body(**changes))

    assert_invalid(response, *path)
    assert total(api) == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('"lat": NaN', id="nan"),
        pytest.param('"lat": Infinity', id="infinity"),
        pytest.param('"lng": -Infinity', id="minus-infinity"),
        pytest.param('"lat": 1e400', id="overflow"),
    ],
)
def test_intake_refuses_non_finite_coordinates(api, raw):
    before = total(api)
    body = json.dumps(intake_body())[:-1] + ', "location": {"address": "北京市通州区", ' + raw + "}}"

    response = post_raw(api, f"{API}/complaints", "bj-intake", body)

    assert_invalid(response, "location")
    assert total(api) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("description", "排放废气\ud800异味", id="description-lone-surrogate"),
        pytest.param("description", "排放废气\udfff", id="description-low-surrogate"),
        pytest.param("external_id", "\ud83d", id="external-id-surrogate"),
        pytest.param("location", {"address": "通州区\ud800"}, id="address-surrogate"),
        pytest.param("complainant", {"name": "张\udc00三"}, id="name-surrogate"),
    ],
)
def test_intake_refuses_lone_surrogates(api, field, value):
    """JSON's \\ud800 escape decodes to a lone surrogate, which no database can store as UTF-8."""
    before = total(api)
    body = json.dumps(intake_body(**{field: value}))  # ensure_ascii: the surrogate travels as \\ud800

    response = post_raw(api, f"{API}/complaints", "bj-intake", body)

    assert_error(response, 422, "invalid")
    assert total(api) == before


def test_intake_for_another_bureau_is_403(api):
    before = total(api, "tj-supervisor")

    response = api.post(f"{API}/complaints", "bj-intake", json=intake_body(bureau="TJ"))

    assert_error(response, 403, "role_not_allowed")
    assert total(api, "tj-supervisor") == before


@pytest.mark.parametrize("as_", ["bj-dispatcher", "bj-officer", "bj-supervisor", "bj-leader"])
def test_intake_without_the_intake_role_is_403(api, as_):
    before = total(api)

    response = api.post(f"{API}/complaints", as_, json=intake_body())

    assert_error(response, 403, "role_not_allowed")
    assert total(api) == before


def test_tabs_newlines_and_unicode_are_text(api):
    description = "第一行\n第二行\t缩进 ☣️ 🏭 \u202eRTL\u202c 零宽\u200b字符 ｆｕｌｌ"

    created = api.post(f"{API}/complaints", "bj-intake", json=intake_body(description=description))

    assert created.status_code == 201, created.json
    assert api.complaint(created.json["case_no"], as_="bj-intake")["description"] == description


# --- SQL fragments and LIKE wildcards are data ------------------------------------------------


def test_sql_fragments_are_stored_and_read_back_literally(api):
    fragments = {
        "description": SQL,
        "external_id": "x' OR '1'='1",
        "complainant": {"name": "Robert'); DROP TABLE officers;--", "phone": "13812345678"},
        "location": {"address": "1' OR '1'='1'; DELETE FROM events WHERE '1'='1"},
    }
    other = api.register(description="另一条普通投诉，工地夜间施工噪声。")["case_no"]

    created = api.post(f"{API}/complaints", "bj-intake", json=intake_body(**fragments))

    assert created.status_code == 201, created.json
    case_no = created.json["case_no"]
    seen = api.complaint(case_no, as_="bj-intake")
    assert seen["description"] == SQL
    assert seen["external_id"] == "x' OR '1'='1"
    assert seen["complainant"]["name"] == "Robert'); DROP TABLE officers;--"
    assert seen["location"]["address"] == fragments["location"]["address"]
    # Every table is still there and still works.
    assert api.complaint(other)["state"] == "received"
    assert [e["action"] for e in api.events(case_no)] == ["register"]
    api.ok(case_no, "accept", "bj-intake")
    # The same external id again is the same complaint, not an injection.
    again = api.post(f"{API}/complaints", "bj-intake", json=intake_body(**fragments))
    assert (again.status_code, again.json["case_no"]) == (200, case_no)
    assert total(api) == 2


def test_sql_fragments_in_action_fields_are_stored_literally(api):
    case_no = make_case(api, "received")

    api.ok(case_no, "reject", "bj-intake", reason=SQL, referred_to="'; UPDATE complaints SET state='closed'; --")

    event = api.events(case_no)[-1]
    assert event["data"] == {"reason": SQL, "referred_to": "'; UPDATE complaints SET state='closed'; --"}
    assert api.complaint(case_no)["state"] == "rejected"


@pytest.mark.parametrize(
    "params",
    [
        {"text": "' OR '1'='1"},
        {"text": "%' OR 1=1 --"},
        {"channel": "x' OR 1=1--"},
        {"officer": "' OR ''='"},
        {"unit": "tongzhou' OR 1=1 --"},
        {"category": "air') OR ('1'='1"},
        {"bureau": "BJ' --"},
    ],
    ids=lambda p: next(iter(p)),
)
def test_sql_fragments_in_filters_match_nothing(api, params):
    api.register()

    response = api.get(f"{API}/complaints", "bj-supervisor", query_string=params)

    assert response.status_code == 200, response.json
    assert (response.json["total"], response.json["items"]) == (0, [])


def test_text_search_takes_percent_underscore_and_backslash_literally(api):
    cases = {
        "percent": api.register(description="排放达标率100%以上，仍有异味。")["case_no"],
        "underscore": api.register(description="编号A_B的排污口夜间排放。")["case_no"],
        "backslash": api.register(description="文件路径C:\\temp里有监测报告。")["case_no"],
        "plain": api.register(description="工地夜间施工噪声扰民。")["case_no"],
    }

    def found(text):
        response = api.get(f"{API}/complaints", "bj-supervisor", query_string={"text": text})
        assert response.status_code == 200, response.json
        return {item["case_no"] for item in response.json["items"]}

    assert found("%") == {cases["percent"]}
    assert found("100%") == {cases["percent"]}
    assert found("_") == {cases["underscore"]}
    assert found("A_B") == {cases["underscore"]}
    assert found("\\") == {cases["backslash"]}
    assert found("%%") == set()
    assert found("__") == set()
    assert found("A%B") == set()
    assert found("异味") == {cases["percent"]}


# --- list filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"page": "-1"}, "page", id="page-negative"),
        pytest.param({"page": "0"}, "page", id="page-zero"),
        pytest.param({"page": "abc"}, "page", id="page-junk"),
        pytest.param({"page": "1.5"}, "page", id="page-float"),
        pytest.param({"page": "9" * 30}, "page", id="page-huge"),
        pytest.param({"page": "1; DROP TABLE complaints"}, "page", id="page-sql"),
        pytest.param({"per_page": "10000"}, "per_page", id="per-page-10000"),
        pytest.param({"per_page": "0"}, "per_page", id="per-page-zero"),
        pytest.param({"per_page": "-5"}, "per_page", id="per-page-negative"),
        pytest.param({"per_page": "all"}, "per_page", id="per-page-junk"),
        pytest.param({"received_from": "notadate"}, "received_from", id="from-junk"),
        pytest.param({"received_from": "' OR 1=1 --"}, "received_from", id="from-sql"),
        pytest.param({"received_to": "2026-13-45T00:00:00"}, "received_to", id="to-impossible"),
        pytest.param({"overdue": "maybe"}, "overdue", id="overdue-junk"),
        pytest.param({"text": ""}, "text", id="text-empty"),
        pytest.param({"text": "x" * 101}, "text", id="text-long"),
        pytest.param({"text": "a\x00b"}, "text", id="text-nul"),
        pytest.param({"text": "\x1b[2J"}, "text", id="text-escape"),
        pytest.param({"bureau": "B" * 9}, "bureau", id="bureau-long"),
        pytest.param({"state": "x" * 21}, "state", id="state-long"),
        pytest.param({"state": "received\x00"}, "state", id="state-nul"),
        pytest.param({"state": "received' OR '1'='1"}, "state", id="state-sql"),  # no such state: 422 naming them
        pytest.param({"channel": "\x00"}, "channel", id="channel-nul"),
        pytest.param({"grade": "urgent\x00"}, "grade", id="grade-nul"),
        pytest.param({"category": "\x00air"}, "category", id="category-nul"),
        pytest.param({"unit": "tong\x00zhou"}, "unit", id="unit-nul"),
        pytest.param({"officer": "bj-officer\x00"}, "officer", id="officer-nul"),
        pytest.param({"bureau": "BJ\x00"}, "bureau", id="bureau-nul"),
    ],
)
def test_junk_list_filters_are_422(api, params, field):
    api.register()

    response = api.get(f"{API}/complaints", "bj-supervisor", query_string=params)

    assert_invalid(response, field)


def test_unknown_list_parameters_are_ignored(api):
    api.register()

    response = api.get(f"{API}/complaints", "bj-supervisor", query_string={"sorting": "'; DROP TABLE x", "debug": "1"})

    assert response.status_code == 200
    assert response.json["total"] == 1


# --- actions: field validation, roles, state and version ---------------------------------------

CTRL_REASONS = [
    pytest.param("received", "reject", "bj-intake", {"reason": f"不予受理{c}原因"}, 422, ("reason",),
                 id=f"reject-reason-ctrl-{ord(c[0]):02x}")
    for c in CONTROL_CHARACTERS
]  # fmt: skip

# fmt: off
ACTION_CASES = [
    # 422: the fields an action declares
    pytest.param("received", "reject", "bj-intake", {}, 422, ("reason",), id="reject-no-reason"),
    pytest.param("received", "reject", "bj-intake", {"reason": ""}, 422, ("reason",), id="reject-empty"),
    pytest.param("received", "reject", "bj-intake", {"reason": " \n\t "}, 422, ("reason",), id="reject-blank"),
    pytest.param("received", "reject", "bj-intake", {"reason": None}, 422, ("reason",), id="reject-null"),
    pytest.param("received", "reject", "bj-intake", {"reason": 42}, 422, ("reason",), id="reject-int"),
    pytest.param("received", "reject", "bj-intake", {"reason": ["a"]}, 422, ("reason",), id="reject-list"),
    pytest.param("received", "reject", "bj-intake", {"reason": {"$ne": ""}}, 422, ("reason",), id="reject-object"),
    pytest.param("received", "reject", "bj-intake", {"reason": "x" * 4001}, 422, ("reason",), id="reject-4001"),
    pytest.param("received", "reject", "bj-intake", {"reason": "r", "referred_to": "x" * 201}, 422,
                 ("referred_to",), id="reject-referred-to-long"),
    pytest.param("received", "reject", "bj-intake", {"reason": "r", "state": "closed"}, 422, ("state",),
                 id="reject-unknown-field"),
    pytest.param("received", "accept", "bj-intake", {"note": "x"}, 422, ("note",), id="accept-unknown-field"),
    pytest.param("received", "accept", "bj-intake", {"officer_id": 1}, 422, ("officer_id",), id="accept-officer-id"),
    pytest.param("received", "merge", "bj-intake", {}, 422, ("into",), id="merge-no-into"),
    pytest.param("received", "merge", "bj-intake", {"into": "BJ-00000000-0000"}, 422, ("into",),
                 id="merge-unknown-case"),
    pytest.param("received", "merge", "bj-intake", {"into": "' OR '1'='1"}, 422, ("into",), id="merge-sql"),
    pytest.param("received", "merge", "bj-intake", {"into": "x" * 65}, 422, ("into",), id="merge-long"),
    pytest.param("received", "merge", "bj-intake", {"into": 1}, 422, ("into",), id="merge-int"),
    pytest.param("received", "merge", "bj-intake", {"into": SELF}, 422, ("into",), id="merge-into-self"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "apocalyptic", "categories": ["air"]}, 422,
                 ("grade",), id="grade-unknown"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": ["general"], "categories": ["air"]}, 422,
                 ("grade",), id="grade-list"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": "air"}, 422,
                 ("categories",), id="grade-categories-string"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": []}, 422,
                 ("categories",), id="grade-categories-empty"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": ["air"] * 9}, 422,
                 ("categories",), id="grade-categories-9"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": ["plutonium"]}, 422,
                 ("categories",), id="grade-category-unknown"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": [None]}, 422,
                 ("categories",), id="grade-category-null"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": [["air"]]}, 422,
                 ("categories",), id="grade-category-nested"),
    pytest.param("accepted", "assign", "bj-dispatcher", {"unit": "tongzhou", "officer": "bj-officer"}, 422,
                 ("grade",), id="assign-ungraded"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "nowhere", "officer": "bj-officer", "grade": "urgent", "categories": ["water"]}, 422,
                 ("unit",), id="assign-and-grade-unknown-unit"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "tongzhou", "officer": "nobody", "grade": "key", "categories": ["air"]}, 422,
                 ("officer",), id="assign-and-grade-unknown-officer"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "tongzhou", "officer": "bj-intake", "grade": "general", "categories": ["air"]}, 422,
                 ("officer",), id="assign-and-grade-not-an-officer"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "tongzhou", "officer": "tj-officer", "grade": "general", "categories": ["air"]}, 422,
                 ("officer",), id="assign-and-grade-other-bureau-officer"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "wuqing", "officer": "tj-officer", "grade": "general", "categories": ["air"]}, 422,
                 ("unit",), id="assign-and-grade-other-bureau-unit"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "' OR 1=1 --", "officer": "bj-officer", "grade": "general", "categories": ["air"]}, 422,
                 ("unit",), id="assign-and-grade-unit-sql"),
    pytest.param("accepted", "assign", "bj-dispatcher",
                 {"unit": "tongzhou", "officer": 7, "grade": "general", "categories": ["air"]}, 422,
                 ("officer",), id="assign-officer-int"),
    pytest.param("handling", "record_progress", "bj-officer", {}, 422, ("note",), id="progress-no-note"),
    pytest.param("handling", "record_progress", "bj-officer", {"note": "n", "evidence": "photo.jpg"}, 422,
                 ("evidence",), id="progress-evidence-string"),
    pytest.param("handling", "record_progress", "bj-officer", {"note": "n", "evidence": ["p.jpg"] * 51}, 422,
                 ("evidence",), id="progress-evidence-51"),
    pytest.param("handling", "record_progress", "bj-officer", {"note": "n", "evidence": ["x" * 501]}, 422,
                 ("evidence",), id="progress-evidence-long"),
    pytest.param("handling", "record_progress", "bj-officer", {"note": "n", "evidence": ["a\x00.jpg"]}, 422,
                 ("evidence",), id="progress-evidence-nul"),
    pytest.param("handling", "record_progress", "bj-officer", {"note": "\x00"}, 422, ("note",),
                 id="progress-note-nul"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": "5", "reason": "r"}, 422, ("days",),
                 id="extension-days-string"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": 5.0, "reason": "r"}, 422, ("days",),
                 id="extension-days-float"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": 2.5, "reason": "r"}, 422, ("days",),
                 id="extension-days-fraction"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": True, "reason": "r"}, 422, ("days",),
                 id="extension-days-bool"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": None, "reason": "r"}, 422, ("days",),
                 id="extension-days-null"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": 0, "reason": "r"}, 422, ("days",),
                 id="extension-days-zero"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": -3, "reason": "r"}, 422, ("days",),
                 id="extension-days-negative"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": 367, "reason": "r"}, 422, ("days",),
                 id="extension-days-367"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": 10**30, "reason": "r"}, 422, ("days",),
                 id="extension-days-huge"),
    pytest.param("handling", "request_extension", "bj-officer", {"days": 30, "reason": "r"}, 422, ("days",),
                 id="extension-days-over-first-limit"),
    pytest.param("handling", "reply", "bj-officer", {"result": "r"}, 422, ("text",), id="reply-no-text"),
    pytest.param("handling", "reply", "bj-officer", {"result": {"a": 1}, "text": "t"}, 422, ("result",),
                 id="reply-result-object"),
    pytest.param("handling", "contact", "bj-officer", {"method": "x" * 201}, 422, ("method",),
                 id="contact-method-long"),
    pytest.param("handling", "pause", "bj-supervisor", {"reason": "\x00"}, 422, ("reason",), id="pause-nul"),
    pytest.param("handling", "approve_extension", "bj-supervisor", {"approved": "perhaps"}, 422, ("approved",),
                 id="approve-junk-bool"),
    # 403: who may act
    pytest.param("assigned", "sign", "bj-officer2", {}, 403, "not_assignee", id="sign-not-assignee"),
    pytest.param("assigned", "sign", "bj-intake", {}, 403, "role_not_allowed", id="sign-by-intake"),
    pytest.param("received", "accept", "bj-dispatcher", {}, 403, "role_not_allowed", id="accept-by-dispatcher"),
    pytest.param("received", "accept", "tj-intake", {}, 403, "other_bureau", id="accept-other-bureau"),
    pytest.param("handling", "approve_extension", "bj-officer", {"approved": True}, 403, "role_not_allowed",
                 id="approve-by-officer"),
    pytest.param("handling", "reply", "bj-officer2", {"result": "r", "text": "t"}, 403, "not_assignee",
                 id="reply-not-assignee"),
    # 409: the case is not in a state for it
    pytest.param("handling", "accept", "bj-intake", {}, 409, "action_not_allowed", id="accept-in-handling"),
    pytest.param("received", "grade", "bj-dispatcher", {"grade": "general", "categories": ["air"]}, 409,
                 "action_not_allowed", id="grade-in-received"),
    pytest.param("handling", "follow_up", "bj-intake", {"resolved": True, "satisfaction": "satisfied"}, 409,
                 "action_not_allowed", id="follow-up-in-handling"),
    pytest.param("handling", "verify_close", "bj-leader", {"note": "n"}, 409, "action_not_allowed",
                 id="verify-close-in-handling"),
    pytest.param("handling", "reopen", "bj-supervisor", {"reason": "r"}, 409, "action_not_allowed",
                 id="reopen-in-handling"),
    pytest.param("rejected", "accept", "bj-intake", {}, 409, "action_not_allowed", id="accept-rejected"),
    pytest.param("rejected", "reject", "bj-intake", {"reason": "again"}, 409, "action_not_allowed",
                 id="reject-rejected"),
    pytest.param("handling", "approve_extension", "bj-supervisor", {"approved": True}, 409, "no_pending_extension",
                 id="approve-nothing-pending"),
    pytest.param("handling", "resume", "bj-supervisor", {}, 409, "not_paused", id="resume-not-paused"),
    *CTRL_REASONS,
]
# fmt: on


@pytest.mark.parametrize(("state", "action", "as_", "fields", "status", "expect"), ACTION_CASES)
def test_failed_action_answers_4xx_and_changes_nothing(api, state, action, as_, fields, status, expect):
    case_no = make_case(api, state)
    fields = {k: (case_no if v is SELF else v) for k, v in fields.items()}
    before = snapshot(api, case_no)

    response = api.act(case_no, action, as_, version=before[0]["version"], **fields)

    if status == 422:
        assert_invalid(response, *expect)
    else:
        assert_error(response, status, expect)
    assert snapshot(api, case_no) == before


def test_failed_assign_in_a_request_of_its_own_leaves_the_case_as_it_was(api, app, db):
    """The same failed assign as above ("assign-and-grade-unknown-unit"), sent the way a server sends
    it: from another thread, so the request has its own app context and its own session, which is
    thrown away at the end. Passes where the one above fails: the failed action's changes stay in
    the session it ran in, and only a session that ends with the request hides them."""
    case_no = make_case(api, "accepted")
    before = snapshot(api, case_no)
    headers = api.headers("bj-dispatcher")
    db.session.rollback()  # SQLite: let go of the write lock this thread's session holds
    body = {"version": before[0]["version"], "unit": "nowhere", "officer": "bj-officer", "grade": "urgent",
            "categories": ["water"]}  # fmt: skip
    answer = {}
    thread = threading.Thread(
        target=lambda: answer.update(r=app.test_client().post(action_path(case_no, "assign"), headers=headers,
                                                              json=body))
    )  # fmt: skip
    thread.start()
    thread.join(60)

    assert_invalid(answer["r"], "unit")
    assert snapshot(api, case_no) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("reason", "不予受理\ud800", id="reason-surrogate"),
        pytest.param("referred_to", "\udfff", id="referred-to-surrogate"),
    ],
)
def test_lone_surrogates_in_action_fields_are_422(api, field, value):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    body = json.dumps({"version": before[0]["version"], "reason": "r", field: value})

    response = post_raw(api, action_path(case_no, "reject"), "bj-intake", body)

    assert_invalid(response, field)
    assert snapshot(api, case_no) == before


def test_a_second_pause_is_409_and_changes_nothing(api):
    case_no = make_case(api, "handling")
    api.ok(case_no, "pause", "bj-supervisor", reason="等待监测结果")
    before = snapshot(api, case_no)

    response = api.act(case_no, "pause", "bj-supervisor", reason="再挂起一次")

    assert_error(response, 409, "already_paused")
    assert snapshot(api, case_no) == before


def test_a_second_extension_request_is_409_and_changes_nothing(api):
    case_no = make_case(api, "handling")
    api.ok(case_no, "request_extension", "bj-officer", days=3, reason="等待检测报告")
    before = snapshot(api, case_no)

    response = api.act(case_no, "request_extension", "bj-officer", days=2, reason="再延")

    assert_error(response, 409, "extension_pending")
    assert snapshot(api, case_no) == before


def test_tabs_and_newlines_in_action_text_are_kept(api):
    case_no = make_case(api, "received")

    api.ok(case_no, "reject", "bj-intake", reason="第一行\n第二行\t（已转交）")

    assert api.events(case_no)[-1]["data"]["reason"] == "第一行\n第二行\t（已转交）"


# --- version ----------------------------------------------------------------------------------

VERSION_ACTIONS = [
    pytest.param("received", "accept", "bj-intake", {}, id="accept"),
    pytest.param("received", "reject", "bj-intake", {"reason": "不属于本局职责"}, id="reject"),
    pytest.param("accepted", "grade", "bj-dispatcher", {"grade": "general", "categories": ["air"]}, id="grade"),
    pytest.param("handling", "record_progress", "bj-officer", {"note": "现场检查"}, id="record_progress"),
]


@pytest.mark.parametrize(
    "version",
    [
        pytest.param(NO_VERSION, id="missing"),
        pytest.param(None, id="null"),
        pytest.param("CURRENT-AS-STRING", id="string-of-current"),
        pytest.param("one", id="string"),
        pytest.param("1; DROP TABLE complaints", id="sql"),
        pytest.param("CURRENT-AS-FLOAT", id="float-of-current"),
        pytest.param(2.5, id="fraction"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param([], id="list"),
        pytest.param({"$gt": 0}, id="object"),
    ],
)
@pytest.mark.parametrize(("state", "action", "as_", "fields"), VERSION_ACTIONS)
def test_version_of_the_wrong_type_is_422(api, state, action, as_, fields, version):
    case_no = make_case(api, state)
    before = snapshot(api, case_no)
    current = before[0]["version"]
    body = dict(fields)
    if version == "CURRENT-AS-STRING":
        body["version"] = str(current)
    elif version == "CURRENT-AS-FLOAT":
        body["version"] = float(current)
    elif version is not NO_VERSION:
        body["version"] = version

    response = api.post(action_path(case_no, action), as_, json=body)

    assert_invalid(response, "version")
    assert snapshot(api, case_no) == before


@pytest.mark.parametrize(
    "stale",
    [
        pytest.param(lambda v: v - 1, id="previous"),
        pytest.param(lambda v: v + 1, id="next"),
        pytest.param(lambda v: 0, id="zero"),
        pytest.param(lambda v: -1, id="negative"),
        pytest.param(lambda v: 2**63, id="2**63"),
        pytest.param(lambda v: 10**40, id="10**40"),
    ],
)
@pytest.mark.parametrize(("state", "action", "as_", "fields"), VERSION_ACTIONS)
def test_stale_version_is_409(api, state, action, as_, fields, stale):
    case_no = make_case(api, state)
    before = snapshot(api, case_no)

    response = api.act(case_no, action, as_, version=stale(before[0]["version"]), **fields)

    body = assert_error(response, 409, "stale_version")
    assert body["details"]["version"] == before[0]["version"]
    assert snapshot(api, case_no) == before


def test_json_nan_version_is_422(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)

    response = post_raw(api, action_path(case_no, "accept"), "bj-intake", b'{"version": NaN}')

    assert_invalid(response, "version")
    assert snapshot(api, case_no) == before


def test_duplicate_keys_take_the_last_and_still_validate(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    body = f'{{"version": {before[0]["version"]}, "version": "x"}}'

    response = post_raw(api, action_path(case_no, "accept"), "bj-intake", body)

    assert_invalid(response, "version")
    assert snapshot(api, case_no) == before


# --- unknown cases, unknown actions, unknown routes --------------------------------------------

UNKNOWN_CASES = [
    "BJ-00000000-0000",
    "bj-20260101-0001",
    "' OR '1'='1",
    "BJ-20260101-0001'; DROP TABLE complaints; --",
    "%",
    "_",
    "x" * 5000,
    "案件",
    "\x00",
    "BJ\x1b[2J",
]


@pytest.mark.parametrize("case_no", UNKNOWN_CASES, ids=[ascii(c)[1:-1][:40] for c in UNKNOWN_CASES])
def test_unknown_case_is_404_everywhere(api, case_no):
    real = api.register()["case_no"]
    before = snapshot(api, real)

    assert_error(api.get(f"{API}/complaints/{case_no}", "bj-supervisor"), 404, "unknown_case")
    assert_error(api.get(f"{API}/complaints/{case_no}/events", "bj-supervisor"), 404, "unknown_case")
    for action in ("accept", "reject", "destroy"):
        response = api.post(action_path(case_no, action), "bj-intake", json={"version": 1, "reason": "r"})
        assert_error(response, 404, "unknown_case")
    assert snapshot(api, real) == before


UNKNOWN_ACTIONS = [
    "destroy",
    "ACCEPT",
    "Accept",
    "accept ",
    "register",
    "delete",
    "__init__",
    "__class__",
    "to_handling",
    "to_closed",
    "trigger",
    "version",
    "accept;drop table complaints",
    "' OR '1'='1",
    "%00",
    "\x00",
    "x" * 5000,
    "受理",
]


@pytest.mark.parametrize("action", UNKNOWN_ACTIONS, ids=[ascii(a)[1:-1][:40] for a in UNKNOWN_ACTIONS])
@pytest.mark.parametrize("state", ["received", "handling"])
def test_unknown_action_is_404_and_changes_nothing(api, state, action):
    case_no = make_case(api, state)
    before = snapshot(api, case_no)

    response = api.act(case_no, action, "bj-supervisor", version=before[0]["version"])

    body = assert_error(response, 404, "unknown_action")
    assert "accept" in body["details"]["actions"]
    assert snapshot(api, case_no) == before


def test_unknown_action_on_another_bureaus_case_is_403_not_a_leak(api):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)

    response = api.act(case_no, "destroy", "tj-intake", version=before[0]["version"])

    assert_error(response, 403, "other_bureau")
    assert snapshot(api, case_no) == before


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{API}/nothing-here", 404),
        ("GET", f"{API}/complaints/BJ-1/actions", 404),
        ("POST", f"{API}/complaints/BJ-1/actions/", 404),
        ("GET", f"{API}/complaints/../../etc/passwd", 404),
        ("DELETE", f"{API}/complaints", 405),
        ("PUT", f"{API}/complaints", 405),
        ("GET", f"{API}/complaints/BJ-1/actions/accept", 405),
        ("DELETE", f"{API}/complaints/BJ-1/events", 405),
        ("GET", f"{API}/auth/token", 405),
    ],
)
def test_unknown_routes_and_methods_answer_in_the_error_shape(api, method, path, status):
    response = api.client.open(path, method=method, headers=api.headers("bj-supervisor"), json={})

    assert_error(response, status)


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param({}, ("username",), id="empty"),
        pytest.param({"username": "bj-intake"}, ("password",), id="no-password"),
        pytest.param({"password": PASSWORD}, ("username",), id="no-username"),
        pytest.param({"username": 1, "password": PASSWORD}, ("username",), id="username-int"),
        pytest.param({"username": ["bj-intake"], "password": PASSWORD}, ("username",), id="username-list"),
        pytest.param({"username": {"$ne": ""}, "password": PASSWORD}, ("username",), id="username-object"),
        pytest.param({"username": None, "password": PASSWORD}, ("username",), id="username-null"),
        pytest.param({"username": "bj-intake", "password": True}, ("password",), id="password-bool"),
        pytest.param({"username": "", "password": PASSWORD}, ("username",), id="username-empty"),
        pytest.param({"username": "bj-intake", "password": ""}, ("password",), id="password-empty"),
        pytest.param({"username": "u" * 65, "password": PASSWORD}, ("username",), id="username-long"),
        pytest.param({"username": "bj-intake", "password": "p" * 257}, ("password",), id="password-long"),
        pytest.param({"username": "bj-intake", "password": PASSWORD, "admin": True}, ("admin",), id="extra-field"),
    ],
)
def test_token_field_errors_are_422(client, staff, body, path):
    assert_invalid(client.post(f"{API}/auth/token", json=body), *path)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"username": "bj-intake", "password": "wrong"}, id="wrong-password"),
        pytest.param({"username": "nobody", "password": PASSWORD}, id="unknown-user"),
        pytest.param({"username": "BJ-INTAKE", "password": PASSWORD}, id="username-case"),
        pytest.param({"username": " bj-intake", "password": PASSWORD}, id="username-space"),
        pytest.param({"username": "' OR '1'='1", "password": "' OR '1'='1"}, id="sql-both"),
        pytest.param({"username": "bj-intake' --", "password": "x"}, id="sql-comment"),
        pytest.param({"username": "bj-intake", "password": "' OR '1'='1"}, id="sql-password"),
        pytest.param({"username": "%", "password": PASSWORD}, id="like-wildcard"),
    ],
)
def test_bad_credentials_are_401(client, staff, body):
    response = client.post(f"{API}/auth/token", data=json.dumps(body), content_type="application/json")

    assert_error(response, 401, "bad_credentials")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("bj-intake\x00", PASSWORD, id="username-nul"),
        pytest.param("bj-\x1bintake", PASSWORD, id="username-escape"),
        pytest.param("bj-intake\ud800", PASSWORD, id="username-surrogate"),
        pytest.param("bj-intake", PASSWORD + "\x00", id="password-trailing-nul"),
        pytest.param("bj-intake", PASSWORD + "\x00\x00\x00", id="password-trailing-nuls"),
        pytest.param("bj-intake", "\x00" + PASSWORD, id="password-leading-nul"),
        pytest.param("bj-intake", "\ud800", id="password-surrogate"),
    ],
)
def test_control_characters_in_credentials_are_refused(client, staff, username, password):
    response = client.post(
        f"{API}/auth/token", data=json.dumps({"username": username, "password": password}),
        content_type="application/json",
    )  # fmt: skip

    # Either answer is right: no such officer or password (401), or not a valid value (422).
    # Never a 500, and never a token: the password is not "pw-for-tests" followed by NULs.
    assert response.status_code in (401, 422), response.get_data(as_text=True)[:300]
    assert_error(response, response.status_code)


def test_inactive_officer_gets_no_token(client, make_officer, staff):
    make_officer("bj-gone", ["intake"], active=False)

    assert_error(client.post(f"{API}/auth/token", json={"username": "bj-gone", "password": PASSWORD}), 401)


def _protected(case_no):
    return [
        ("GET", f"{API}/complaints", None),
        ("POST", f"{API}/complaints", intake_body()),
        ("GET", f"{API}/complaints/{case_no}", None),
        ("GET", f"{API}/complaints/{case_no}/events", None),
        ("POST", action_path(case_no, "accept"), {"version": 1}),
        ("POST", action_path(case_no, "reject"), {"version": 1, "reason": "r"}),
        ("POST", action_path(case_no, "destroy"), {"version": 1}),
        ("GET", f"{API}/units", None),
        ("GET", f"{API}/officers", None),
        ("GET", f"{API}/workflow", None),
    ]


def _other_secret_token():
    return URLSafeTimedSerializer("not-the-secret", salt="ecoflow-api-token").dumps({"sub": 1, "pw": "x"})


def _other_salt_token(app):
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="something-else").dumps({"sub": 1, "pw": "x"})


BAD_AUTHORIZATION = [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("Bearer", id="bearer-only"),
    pytest.param("Bearer ", id="bearer-space"),
    pytest.param("Bearer      ", id="bearer-spaces"),
    pytest.param("Basic YmotaW50YWtlOnB3LWZvci10ZXN0cw==", id="basic"),
    pytest.param("Token VALID", id="other-scheme-with-valid-token"),
    pytest.param("VALID", id="valid-token-without-scheme"),
    pytest.param("Bearer garbage", id="garbage"),
    pytest.param("Bearer a.b.c", id="dotted-garbage"),
    pytest.param("Bearer ' OR '1'='1", id="sql"),
    pytest.param("Bearer " + "A" * 20000, id="huge"),
    pytest.param("Bearer VALIDx", id="tampered-tail"),
    pytest.param("Bearer xVALID", id="tampered-head"),
    pytest.param("Bearer OTHER_SECRET", id="other-secret"),
    pytest.param("Bearer OTHER_SALT", id="other-salt"),
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
def test_missing_or_garbage_bearer_token_is_401(api, app, authorization):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    complaints = total(api)
    valid = api.headers("bj-intake")["Authorization"].split(" ", 1)[1]
    headers = {}
    if authorization is not None:
        value = authorization.replace("OTHER_SECRET", _other_secret_token())
        value = value.replace("OTHER_SALT", _other_salt_token(app)).replace("VALID", valid)
        headers["Authorization"] = value

    for method, path, body in _protected(case_no):
        response = api.client.open(path, method=method, headers=headers, json=body)
        assert_error(response, 401)

    assert snapshot(api, case_no) == before
    assert total(api) == complaints


def test_expired_token_is_401(api, app):
    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    headers = api.headers("bj-intake")
    later = datetime.now(UTC) + timedelta(seconds=app.config["TOKEN_TTL_SECONDS"] + 60)

    with time_machine.travel(later, tick=False):
        for method, path, body in _protected(case_no):
            response = api.client.open(path, method=method, headers=headers, json=body)
            assert_error(response, 401, "token_expired")

    assert snapshot(api, case_no) == before


def test_token_of_a_deactivated_officer_is_401(api, db):
    from ecoflow.officers.models import Officer

    case_no = make_case(api, "received")
    before = snapshot(api, case_no)
    headers = api.headers("bj-intake")
    officer = db.session.query(Officer).filter_by(username="bj-intake").one()
    officer.is_active = False
    db.session.commit()

    response = api.client.post(action_path(case_no, "accept"), headers=headers, json={"version": 1})

    assert_error(response, 401, "bad_token")
    assert snapshot(api, case_no) == before


# --- beyond intake and actions: far dates, huge ids, odd values in every other door -------------

FAR = "9999-12-31T23:59:59-12:00"  # a valid ISO 8601 moment, past the calendar's last year in UTC


@pytest.mark.parametrize("param", ["received_from", "received_to"])
def test_a_list_filter_past_the_calendar_is_422(api, param):
    assert_error(api.get(f"{API}/complaints", "bj-supervisor", query_string={param: FAR}), 422)


def test_a_duplicates_check_received_past_the_calendar_is_422(api):
    body = {"channel": "online", "type": "complaint", "description": "x", "location": {"address": "a"}}
    assert_error(api.post(f"{API}/complaints/duplicates", "bj-intake", json={**body, "received_at": FAR}), 422)


@pytest.mark.parametrize("dates", [{"end_date": FAR}, {"start_date": "0001-01-01T00:00:00+14:00"}])
def test_open311_dates_past_the_calendar_are_400(client, staff, dates):
    response = client.get("/open311/v2/requests.json", query_string={"jurisdiction_id": "BJ", **dates})
    assert response.status_code == 400 and "2000" in response.json[0]["description"]


@pytest.mark.parametrize("path", [f"{API}/assessment/report.xlsx", f"{API}/assessment"])
def test_a_month_past_the_calendar_is_422(api, path):
    assert_error(api.get(path, "bj-supervisor", query_string={"month": "9999-12"}), 422)


@pytest.mark.parametrize("n", [2**31, 2**63, 10**30])
@pytest.mark.parametrize(
    "method, path, user, body",
    [
        ("get", "/whistles/{n}", "bj-supervisor", None),
        ("post", "/whistles/{n}/report-in", "bj-officer", {"who_will_act": "x"}),
        ("post", "/whistles/{n}/close", "bj-supervisor", {"joint_action": "x"}),
        ("post", "/notifications/{n}/read", "bj-officer", None),
        ("post", "/exposures/{n}/withdraw", "bj-supervisor", None),
    ],
)
def test_ids_beyond_what_the_database_keeps_are_404(api, n, method, path, user, body):
    response = getattr(api, method)(API + path.format(n=n), user, **({"json": body} if body else {}))
    assert_error(response, 404)


@pytest.mark.parametrize("bad_type", [["投诉"], {"a": 1}])
def test_a_hotline_order_of_an_odd_type_is_rejected_alone(client, channel_key, bad_type):
    from .test_hotline_orders import order

    key = channel_key("北京12345热线", "hotline_12345")
    orders = {"orders": [order(1, type=bad_type), order(2)]}
    response = client.post(f"{API}/intake/orders", json=orders, headers={"Authorization": f"Bearer {key}"})
    assert [r["status"] for r in response.json["results"]] == ["rejected", "created"]


@pytest.mark.parametrize(
    "fields",
    [
        {"complainant": {"name": "张三", "phone": "13812345678\n"}},
        {"location": {"address": "北京市朝阳区某路1号", "district": "110105\n"}},
        {"external_id": "12345-0001\n"},
    ],
)
def test_a_trailing_line_break_makes_no_valid_code(api, fields):
    from .conftest import COMPLAINT

    assert_error(api.post(f"{API}/complaints", "bj-intake", json={**COMPLAINT, **fields}), 422)


def _web(app, db, username):
    from .test_web import ThreadedClient, log_in

    db.session.rollback()  # the test's own reads end before the pages write
    client = ThreadedClient(app.test_client())
    assert log_in(client, username).status_code == 302
    return client


@pytest.mark.parametrize("version", ["²", "9" * 5000])
def test_a_web_action_with_an_odd_version_is_refused(app, api, db, version):
    from .test_web import csrf

    case_no = api.to_handling()
    officer = _web(app, db, "bj-officer")
    form = {"record_progress-version": version, "record_progress-note": "n", "csrf_token": csrf(officer, "/")}
    response = officer.post(f"/complaints/{case_no}/actions/record_progress", data=form)
    assert response.status_code == 409 and "他人" in response.text
    assert [e["action"] for e in api.events(case_no)][-1] == "sign"


def test_the_web_report_in_refuses_control_characters_and_writes_nothing(app, api, db):
    from .test_web import csrf

    case_no = api.to_handling()
    api.ok(case_no, "whistle", "bj-supervisor", reason="多部门联合执法", parties=["officer"])
    whistle_id = api.get(f"{API}/whistles", "bj-supervisor").json[0]["id"]
    before = api.events(case_no)
    officer = _web(app, db, "bj-officer")
    form = {"who_will_act": "通州\x01分局", "csrf_token": csrf(officer, "/supervision")}
    page = officer.post(f"/supervision/whistles/{whistle_id}/report-in", data=form, follow_redirects=True).text
    assert "请删除文字中的控制字符" in page
    db.session.rollback()
    assert api.events(case_no) == before


def test_a_web_login_with_a_nul_in_the_name_is_401(app, staff):
    from .test_web import ThreadedClient, csrf

    client = ThreadedClient(app.test_client())
    response = client.post("/login", data={"username": "bj\x00", "password": "x", "csrf_token": csrf(client)})
    assert response.status_code == 401 and "用户名或密码错误" in response.text


def test_the_web_inbox_of_a_huge_page_is_an_empty_page(app, db, staff):
    assert _web(app, db, "bj-officer").get(f"/notifications?page={2**60}").status_code == 200


@pytest.mark.parametrize("path", ["/assessment/report?month=9999-12", "/assessment/report.xlsx?month=9999-12"])
def test_a_web_report_of_a_month_past_the_calendar_is_refused(app, db, staff, path):
    assert _web(app, db, "bj-supervisor").get(path).status_code in (400, 422)


def test_after_a_database_error_the_error_page_still_renders(app, db, staff, monkeypatch):
    from sqlalchemy import text

    from ecoflow.escalation import views

    def broken(*args, **kwargs):
        db.session.execute(text("SELECT no_such_column FROM complaints"))

    monkeypatch.setattr(views.services, "overdue_clocks", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        page = _web(app, db, "bj-supervisor").get("/supervision")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert page.status_code == 500 and "服务器内部错误" in page.text
