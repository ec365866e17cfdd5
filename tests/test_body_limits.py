"""Every JSON door over real HTTP: a body over the limit is 413 however it is sent (with its length or
in chunks), a body nested deeper than the limit is 400 `too_deep` (the exchange's too, before anything
walks it), and neither ever 5xx nor changes anything."""

import http.client
import json
import urllib.parse

import pytest

from ecoflow.rest import MAX_JSON_DEPTH

MB = 1024 * 1024


@pytest.fixture
def doors(api, db, channel_key):
    """Each JSON door with the headers that get a request as far as its body."""
    case_no = api.register()["case_no"]
    hotline = {"Authorization": "Bearer " + channel_key("北京12345热线", "hotline_12345", "BJ")}
    api.headers("bj-officer"), api.headers("bj-supervisor")  # tokens made now, not while the server runs
    db.session.rollback()  # SQLite: no transaction of the test's may hold the write lock the server needs
    return {
        "/api/v1/auth/token": {},
        "/api/v1/complaints": api.headers("bj-intake"),
        f"/api/v1/complaints/{case_no}/actions/accept": api.headers("bj-intake"),
        "/api/v1/complaints/duplicates": api.headers("bj-intake"),
        "/api/v1/intake/orders": hotline,
        "/api/v1/whistles/1/report-in": api.headers("bj-officer"),
        "/api/v1/whistles/1/close": api.headers("bj-officer"),
        "/api/v1/exposures": api.headers("bj-supervisor"),
        "/api/v1/public/lookup": {},
    }


def send(base, path, headers, body: bytes, chunked=False):
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {**headers, "Content-Type": "application/json"}
    if chunked:
        pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
        connection.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
    else:
        connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def total(api, db):
    count = api.get("/api/v1/complaints", "bj-intake").json["total"]
    db.session.rollback()
    return count


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_at_every_json_door(api, db, live_server, doors, chunked):
    before = total(api, db)
    body = json.dumps({"description": "废" * MB}).encode()
    for path, headers in doors.items():
        status, answer = send(live_server, path, headers, body, chunked)
        assert (status, answer["error"]) == (413, "request_entity_too_large"), path
    assert total(api, db) == before


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_exchange_takes_larger_batches_but_not_without_end(api, live_server, chunked):
    body = json.dumps({"messages": [{"junk": "x" * (17 * MB)}]}).encode()
    for path in ("/exchange/v1/messages", "/exchange/v1/message"):
        status, answer = send(live_server, path, {}, body, chunked)
        assert (status, answer["error"]) == (413, "request_entity_too_large")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 200, 980])
def test_a_body_nested_too_deep_is_400_at_every_json_door(api, db, live_server, doors, depth):
    before = total(api, db)
    body = ('{"version": 1, "description": ' + "[" * depth + "1" + "]" * depth + "}").encode()
    for path, headers in {**doors, "/exchange/v1/messages": {}, "/exchange/v1/message": {}}.items():
        status, answer = send(live_server, path, headers, body)
        assert status == 400 and answer["error"] in ("too_deep", "malformed_json"), (path, status, answer)
        if depth < 500:  # the JSON parser itself gives up somewhere under a thousand levels
            assert answer["error"] == "too_deep", path
    assert total(api, db) == before


def test_a_body_within_the_depth_limit_reaches_validation(api, live_server, doors):
    body = ('{"description": ' + "[" * (MAX_JSON_DEPTH - 1) + "1" + "]" * (MAX_JSON_DEPTH - 1) + "}").encode()
    status, answer = send(live_server, "/api/v1/complaints", doors["/api/v1/complaints"], body)
    assert (status, answer["error"]) == (422, "invalid")


def test_the_api_says_in_chinese_what_is_too_large_or_not_there(api):
    too_large = api.post("/api/v1/complaints", "bj-intake", data="x" * (1 << 21), content_type="application/json")
    missing = api.get("/api/v1/no-such-thing", "bj-intake")
    assert (too_large.status_code, too_large.json["message"]) == (413, "提交的内容过大。")
    assert (missing.status_code, missing.json["error"]) == (404, "not_found")
    assert not missing.json["message"].isascii()
