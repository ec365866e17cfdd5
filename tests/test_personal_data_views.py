"""个人信息查阅记录: who opened whose personal data, for the bureau's supervisor, leader and admin; an
officer opening an unusual number of cases unmasked in a day is flagged to the bureau's admin."""

from __future__ import annotations

import csv
import io

from ecoflow.norm.current import get_norm

from .test_web import ThreadedClient, log_in


def test_supervisor_reads_who_opened_which_case_unmasked_with_filters_and_csv(api):
    first = api.register()["case_no"]
    second = api.register(complainant={"name": "李四", "phone": "13900001111"})["case_no"]
    api.complaint(first, as_="bj-intake")  # one more unmasked view
    api.complaint(first, as_="bj-supervisor")  # masked: not logged

    everything = api.get("/api/v1/personal-data-views", "bj-supervisor").json
    assert everything["total"] == 3
    assert {(i["officer"], i["case_no"], i["purpose"]) for i in everything["items"]} == {
        ("bj-intake", first, "register"), ("bj-intake", second, "register"), ("bj-intake", first, "view"),
    }  # fmt: skip
    assert everything["items"][0]["at"].endswith("+08:00")
    one_case = api.get(f"/api/v1/personal-data-views?case_no={first}", "bj-supervisor").json
    assert one_case["total"] == 2
    assert api.get("/api/v1/personal-data-views?officer=bj-officer", "bj-leader").json["total"] == 0
    assert api.get("/api/v1/personal-data-views?from=2030-01-01", "bj-admin").json["total"] == 0
    assert api.get("/api/v1/personal-data-views?per_page=1&page=2", "bj-admin").json["items"][0]["case_no"]

    export = api.get("/api/v1/personal-data-views?format=csv", "bj-supervisor")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3 and rows[0]["officer_name"] == "bj-intake"

    assert api.get("/api/v1/personal-data-views", "bj-officer").status_code == 403
    assert api.get("/api/v1/personal-data-views", "tj-supervisor").json["total"] == 0
    bad = api.get("/api/v1/personal-data-views?from=yesterday", "bj-supervisor")
    assert bad.status_code == 422 and "from" in bad.json["details"]["fields"]


def test_the_page_names_the_purpose_and_the_officer_in_chinese(api, app):
    case_no = api.register()["case_no"]
    web = ThreadedClient(app.test_client())
    log_in(web, "bj-supervisor")
    page = web.get("/admin/personal-data-views").text
    assert "个人信息查阅记录" in page and case_no in page and "登记" in page
    assert ">register<" not in page
    export = web.get("/admin/personal-data-views?format=csv")
    assert export.mimetype == "text/csv" and case_no in export.get_data(as_text=True)
    officer = ThreadedClient(app.test_client())
    log_in(officer, "bj-officer")
    assert officer.get("/admin/personal-data-views").status_code == 403


def test_an_unusual_number_of_unmasked_cases_in_a_day_is_flagged_to_the_admin_once(api):
    threshold = get_norm().access["unusual_unmasked_cases_per_day"]
    for _ in range(threshold):
        api.register()
    assert api.get("/api/v1/notifications", "bj-admin").json["items"] == []
    api.register()  # one case past it
    api.register()
    notices = api.get("/api/v1/notifications", "bj-admin").json["items"]
    assert len(notices) == 1 and "bj-intake" in notices[0]["message"] and str(threshold + 1) in notices[0]["message"]
    assert api.get("/api/v1/notifications", "tj-admin").json["items"] == []
