"""案件查询 through the API: every case, open and closed, by any field; personal data only for those who
see it; sorting, paging, totals; exports; saved searches; bad input."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from .test_web import web  # noqa: F401

API = "/api/v1"


def close(api, case_no):
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    assert api.complaint(case_no)["state"] == "closed"


def found(api, as_, **params):
    response = api.get(f"{API}/complaints", as_, query_string=params)
    assert response.status_code == 200, response.json
    return [item["case_no"] for item in response.json["items"]]


def test_a_closed_case_is_found_by_its_order_number_number_and_words(api):
    case_no = api.to_handling(external_id="12345-2026-000777", description="河边死鱼很多，水发黑。")
    close(api, case_no)
    api.register(external_id="12345-2026-000778")

    for username in ("bj-supervisor", "bj-intake", "bj-officer2", "bj-leader"):
        assert found(api, username, external_id="12345-2026-000777") == [case_no], username
        assert found(api, username, text="12345-2026-000777") == [case_no], username
        assert found(api, username, text=case_no.lower()) == [case_no], username
        assert found(api, username, text="死鱼") == [case_no], username
    assert found(api, "tj-supervisor", external_id="12345-2026-000777") == []  # another bureau's case


def test_without_state_every_case_is_searched_and_state_repeats(api):
    handling = api.to_handling()
    closed = api.to_handling()
    close(api, closed)
    rejected = api.register()["case_no"]
    api.ok(rejected, "reject", "bj-intake", reason="不属于环保部门职责", referred_to="城管")

    assert set(found(api, "bj-supervisor")) == {handling, closed, rejected}
    assert set(found(api, "bj-supervisor", state=["closed", "rejected"])) == {closed, rejected}
    assert found(api, "bj-supervisor", state="handling") == [handling]


@pytest.mark.parametrize(("param", "value", "allowed"), [("state", "finished", "closed"), ("sort", "name", "due_at"),
                                                         ("order", "up", "asc")])  # fmt: skip
def test_an_unknown_state_sort_or_order_is_422_naming_the_allowed_values(api, param, value, allowed):
    response = api.get(f"{API}/complaints", "bj-supervisor", query_string={param: value})

    assert response.status_code == 422
    assert response.json["error"] == "invalid"
    message = " ".join(response.json["details"]["fields"][param])
    assert value in message and allowed in message


def test_intake_and_the_responsible_officer_find_a_callers_cases_by_phone_and_name(api):
    mine = api.to_handling(complainant={"name": "王五", "phone": "13911112222"})
    close(api, mine)
    other_officer = api.to_handling(officer="bj-officer2", unit="chaoyang",
                                    complainant={"name": "王五", "phone": "+86 139-1111-2222"})  # fmt: skip
    api.register(complainant={"name": "王五五", "phone": "13911112223"})

    for phone in ("13911112222", "139 1111 2222", "+86 139-1111-2222", "０１３９１１１１２２２２"[1:]):
        assert set(found(api, "bj-intake", phone=phone)) == {mine, other_officer}, phone
    assert set(found(api, "bj-intake", complainant="王五")) == {mine, other_officer}
    assert found(api, "bj-officer", phone="13911112222") == [mine]  # their own case only
    assert found(api, "bj-officer", complainant="王五") == [mine]
    assert found(api, "bj-officer2", phone="13911112222") == [other_officer]


@pytest.mark.parametrize("username", ["bj-supervisor", "bj-dispatcher", "bj-leader", "bj-officer2"])
def test_phone_and_name_find_nothing_for_who_sees_them_masked_exactly_as_a_miss(api, username):
    api.to_handling(complainant={"name": "王五", "phone": "13911112222"})

    for params in ({"phone": "13911112222"}, {"phone": "2222"}, {"complainant": "王五"}, {"complainant": "王"},
                   {"text": "13911112222"}, {"text": "王五"}):  # fmt: skip
        response = api.get(f"{API}/complaints", username, query_string=params)
        assert response.status_code == 200
        assert (response.json["items"], response.json["total"]) == ([], 0), params
    miss = api.get(f"{API}/complaints", username, query_string={"phone": "13000000000"}).json
    hit = api.get(f"{API}/complaints", username, query_string={"phone": "13911112222"}).json
    assert miss == hit


def test_partial_phone_or_name_finds_nothing_even_for_intake(api):
    api.register(complainant={"name": "王五", "phone": "13911112222"})

    assert found(api, "bj-intake", phone="1391111") == []
    assert found(api, "bj-intake", complainant="王") == []


def test_the_place_is_searched_masked_for_masked_viewers(api):
    address = {"address": "北京市通州区梨园镇云景里小区3号楼"}
    case_no = api.register(description="工地夜间施工噪声扰民。", location=address)["case_no"]

    assert found(api, "bj-supervisor", text="通州") == [case_no]  # the district shows to everyone
    assert found(api, "bj-supervisor", text="梨园镇") == []  # below the district: hidden
    assert found(api, "bj-intake", text="梨园镇") == [case_no]


def test_filters_sort_order_paging_and_total(api, db):
    from ecoflow.complaints.models import Complaint

    first = api.to_handling(grade="urgent", received_at="2026-11-01T09:00:00+08:00")
    second = api.to_handling(grade="general", received_at="2026-11-05T09:00:00+08:00")
    third = api.register(received_at="2026-11-09T09:00:00+08:00")["case_no"]
    close(api, second)
    api.ok(second, "reopen", "bj-supervisor", reason="诉求人反映问题依旧")

    def page(**params):
        return api.get(f"{API}/complaints", "bj-supervisor", query_string=params).json

    assert [c["case_no"] for c in page()["items"]] == [third, second, first]
    assert [c["case_no"] for c in page(sort="received_at", order="asc")["items"]] == [first, second, third]
    assert [c["case_no"] for c in page(sort="grade", order="asc")["items"]] == [first, second, third]
    assert [c["case_no"] for c in page(sort="case_no", order="desc")["items"]] == sorted([first, second, third])[::-1]
    assert page(sort="due_at", order="asc")["items"][-1]["case_no"] == third  # no running deadline: last
    one = page(per_page=2, page=2)
    assert (one["total"], [c["case_no"] for c in one["items"]]) == (3, [first])
    assert page(page=99)["items"] == [] and page(page=99)["total"] == 3
    assert [c["case_no"] for c in page(received_from="2026-11-05", received_to="2026-11-05")["items"]] == [second]
    assert [c["case_no"] for c in page(reopened="true")["items"]] == [second]
    assert {c["case_no"] for c in page(reopened="false")["items"]} == {first, third}
    assert [c["case_no"] for c in page(grade="urgent")["items"]] == [first]
    assert [c["case_no"] for c in page(unit="tongzhou", officer="bj-officer")["items"]] == [second, first]
    assert [c["case_no"] for c in page(district="110112")["items"]] == [third, second, first]
    assert page(on_ledger="true")["items"] == []
    closed_at = db.session.query(Complaint.closed_at).filter_by(case_no=second).scalar()
    assert closed_at is None  # reopened: no longer closed
    assert page(closed_from="2026-01-01")["items"] == []


def test_closed_date_range_and_sort_by_closing(api):
    early = api.to_handling()
    late = api.to_handling()
    close(api, early)
    close(api, late)
    api.to_handling()

    listed = api.get(f"{API}/complaints", "bj-supervisor", query_string={"sort": "closed_at", "order": "desc"}).json
    assert [c["case_no"] for c in listed["items"]][:2] == [late, early]
    assert set(found(api, "bj-supervisor", closed_from="2001-01-01", closed_to="2999-12-31")) == {early, late}


@pytest.mark.parametrize(
    "params",
    [
        {"received_from": "1900-01-01"},
        {"closed_to": "9999-12-31"},
        {"closed_from": "2026-02-30"},
        {"text": "异" * 101},
        {"phone": "1" * 31},
        {"complainant": "名" * 51},
        {"state": ""},
        {"page": "0"},
    ],
    ids=lambda p: next(iter(p)),
)
def test_bad_search_input_is_a_422_in_the_one_error_shape(api, params):
    response = api.get(f"{API}/complaints", "bj-supervisor", query_string=params)

    assert response.status_code == 422
    assert set(response.json) == {"error", "message", "details"}
    assert next(iter(params)) in response.json["details"]["fields"]


@pytest.mark.parametrize("text", ["%", "_", "\\", ".*", "[a-z]+", "(?i)", "^$", "' OR 1=1 --", "a%_b", "异味%"])
def test_odd_characters_in_searches_are_taken_literally(api, text):
    api.register()

    for params in ({"text": text}, {"complainant": text}, {"phone": text}, {"external_id": text}):
        response = api.get(f"{API}/complaints", "bj-intake", query_string=params)
        assert response.status_code == 200, (params, response.json)
        assert response.json["items"] == []


def test_export_csv_and_xlsx_are_masked_and_formula_safe(api):
    case_no = api.to_handling(description="=HYPERLINK(\"http://x\",\"点我\") 我是张三，电话13812345678，异味很重",
                              external_id="12345-2026-000900")  # fmt: skip

    for username in ("bj-supervisor", "bj-intake"):
        response = api.get(f"{API}/complaints/export.csv", username, query_string={"text": "异味"})
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        assert rows[0][0] == "案件编号"
        row = rows[1]
        assert row[0] == case_no and row[1] == "12345-2026-000900"
        assert row[7].startswith("'=HYPERLINK") and "13812345678" not in row[7] and "138****5678" in row[7]
        assert (row[8], row[9], row[10]) == ("张*", "138****5678", "北京市通州区****")

    query = {"external_id": "12345-2026-000900"}
    response = api.get(f"{API}/complaints/export.xlsx", "bj-supervisor", query_string=query)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][0] == case_no and values[1][8] == "张*" and values[1][9] == "138****5678"
    assert sheet.cell(row=2, column=8).quotePrefix  # shown as text, never evaluated


def test_export_is_capped_and_says_so(api, app, monkeypatch):
    from ecoflow.norm.current import get_norm

    for _ in range(3):
        api.register()
    with app.app_context():
        access = dict(get_norm().access)
    monkeypatch.setitem(access, "export_max_rows", 2)
    monkeypatch.setattr("ecoflow.complaints.api.get_norm", lambda: type("N", (), {"access": access})())

    body = api.get(f"{API}/complaints/export.csv", "bj-supervisor").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 1 + 2 + 1
    assert "共 3 件" in rows[-1][0] and "前 2 件" in rows[-1][0]


def test_beyond_the_count_cap_the_total_says_more_than_and_every_page_still_reads(api, app, web, monkeypatch):  # noqa: F811
    cases = [api.register(received_at=f"2026-11-0{d}T09:00:00+08:00")["case_no"] for d in range(1, 6)]
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 3)
    html = web("bj-supervisor").get("/search?state=received").text
    assert 'id="total">超过 3 件<' in html and "第 1 页" in html, re.search(r"id=\"total\">[^<]*", html)

    def page(**params):
        return api.get(f"{API}/complaints", "bj-supervisor", query_string=params).json

    capped = page(per_page=2)
    assert (capped["total"], capped["total_is_lower_bound"]) == (3, True)  # 5 match: "more than 3"
    assert [c["case_no"] for c in capped["items"]] == cases[::-1][:2]
    last = page(per_page=2, page=3)  # past the capped total, the rows are still there
    assert [c["case_no"] for c in last["items"]] == [cases[0]] and last["total_is_lower_bound"] is True
    assert page(per_page=2, page=9)["items"] == []
    exact = page(received_from="2026-11-04")
    assert (exact["total"], exact["total_is_lower_bound"]) == (2, False)
    at_cap = page(received_from="2026-11-03")  # exactly the cap: still exact
    assert (at_cap["total"], at_cap["total_is_lower_bound"]) == (3, False)
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 0)  # no cap: always exact
    assert (page()["total"], page()["total_is_lower_bound"]) == (5, False)


def test_saved_searches_are_each_officers_own(api):
    body = {"name": "王五的来电", "query": {"phone": "13911112222", "state": ["closed"]}}
    saved = api.post(f"{API}/saved-searches", "bj-intake", json=body)
    assert saved.status_code == 201, saved.json
    listed = api.get(f"{API}/saved-searches", "bj-intake").json["items"]
    assert [(s["name"], s["query"]) for s in listed] == [("王五的来电", {"phone": "13911112222", "state": ["closed"]})]
    assert api.get(f"{API}/saved-searches", "bj-supervisor").json["items"] == []

    other = api.client.delete(f"{API}/saved-searches/{saved.json['id']}", headers=api.headers("bj-supervisor"))
    assert other.status_code == 404
    mine = api.client.delete(f"{API}/saved-searches/{saved.json['id']}", headers=api.headers("bj-intake"))
    assert mine.status_code == 204
    assert api.get(f"{API}/saved-searches", "bj-intake").json["items"] == []


@pytest.mark.parametrize(
    "body",
    [{"name": "x", "query": {"sort": "nope"}}, {"name": "x", "query": {"debug": "1"}}, {"name": "", "query": {}},
     {"name": "x", "query": {"text": {"a": 1}}}, {"query": {}}],
)  # fmt: skip
def test_a_saved_search_that_would_be_refused_is_not_kept(api, body):
    response = api.post(f"{API}/saved-searches", "bj-intake", json=body)

    assert response.status_code == 422
    assert api.get(f"{API}/saved-searches", "bj-intake").json["items"] == []


# --- the page ---------------------------------------------------------------------------------


def test_the_search_page_finds_closed_cases_sorts_pages_and_saves(api, web):  # noqa: F811
    closed = api.to_handling(external_id="12345-2026-000555")
    close(api, closed)
    api.register()
    page = web("bj-supervisor")

    html = page.get("/search?external_id=12345-2026-000555").text
    assert closed in html and 'id="total">共 1 件<' in html and "办结" in html
    assert page.get("/search").status_code == 200  # nothing asked yet: the form alone
    bad = page.get("/search?received_from=1800-01-01&sort=nope")
    assert bad.status_code == 422 and "时间应在" in bad.text and "可选" in bad.text
    sorted_html = page.get("/search?state=closed&state=received&sort=case_no&order=asc").text
    assert 'aria-sort="ascending"' in sorted_html and "共 2 件" in sorted_html
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    saved = page.post("/search/saved", data={"csrf_token": token, "name": "已办结的12345工单", "state": "closed"})
    assert saved.status_code == 302
    assert "已办结的12345工单" in page.get("/search").text
    assert "已办结的12345工单" in page.get("/").text  # listed on the workbench too
    export = page.get("/search/export.csv?state=closed")
    assert export.status_code == 200 and closed in export.data.decode("utf-8-sig")
