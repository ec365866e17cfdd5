"""管理: a bureau's administrator keeps its units and officers (API, pages, commands), every change on
the bureau's own trail; one-time passwords; accounts that hold (lockout, revocation); 改派."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import requests
import time_machine
from sqlalchemy import func, select

from ecoflow.officers.models import AdminEvent, Officer, Unit
from ecoflow.timeutil import utcnow

from .conftest import PASSWORD
from .test_web import ThreadedClient

NEW_PASSWORD = "湖畔-晨雾-蓝鲸-2026"


def create(api, as_="bj-admin", **fields):
    body = {"username": "bj-new", "name": "王五", "phone": "010-12345678", "unit": "tongzhou",
            "roles": [{"role": "officer"}], **fields}  # fmt: skip
    return api.post("/api/v1/admin/officers", as_, json=body)


def token(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def counts(db) -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Officer, Unit, AdminEvent))


# --- the API contract ------------------------------------------------------------------------------


def test_an_admin_creates_an_officer_who_must_change_the_one_time_password(api, client):
    response = create(api)
    assert response.status_code == 201
    otp = response.json["one_time_password"]
    assert response.json["username"] == "bj-new" and len(otp) >= 12

    refused = token(client, "bj-new", otp)
    assert refused.status_code == 403 and refused.json["error"] == "password_change_required"

    weak = client.post("/api/v1/auth/password", json={"username": "bj-new", "password": otp, "new_password": "12345"})
    assert weak.status_code == 422 and "new_password" in weak.json["details"]["fields"]
    common = client.post(
        "/api/v1/auth/password", json={"username": "bj-new", "password": otp, "new_password": "password1234"}
    )
    assert common.status_code == 422
    named = client.post(
        "/api/v1/auth/password", json={"username": "bj-new", "password": otp, "new_password": "bj-new-Xk82!qq"}
    )
    assert named.status_code == 422 and "用户名" in named.json["message"]

    changed = client.post(
        "/api/v1/auth/password", json={"username": "bj-new", "password": otp, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200
    assert token(client, "bj-new", otp).status_code == 401
    new_token = token(client, "bj-new", NEW_PASSWORD).json["token"]
    mine = client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {new_token}"})
    assert mine.status_code == 200 and mine.json["items"] == []


def test_the_new_officer_can_be_assigned_cases_in_their_unit(api):
    create(api)
    case_no = api.register()["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-new", grade="general", categories=["air"])


def test_bad_officers_are_refused_with_the_field_named_and_nothing_changes(api, db):
    create(api)
    before = counts(db)
    taken = create(api)
    assert taken.status_code == 409 and taken.json["details"]["fields"]["username"]
    bad = {
        "roles": [{"role": "wizard"}],
        "unit": "wuqing",  # a unit of Tianjin
        "name": "",
        "phone": "1\x00",
    }
    for field, value in bad.items():
        response = create(api, username="bj-other", **{field: value})
        assert response.status_code == 422, (field, response.json)
        assert set(response.json) == {"error", "message", "details"}
        assert ("roles" if field == "roles" else field) in response.json["details"]["fields"], field
    for fields in ({"name": "张" * 10000}, {"username": "x" * 10000}, {"username": "bj\x07bad"}, {"roles": []}):
        assert create(api, **fields).status_code == 422, fields
    assert create(api, username="bj-other", roles=[{"role": "officer", "unit": "wuqing"}]).status_code == 422
    assert counts(db) == before


def test_another_bureaus_admin_and_other_roles_get_403(api):
    create(api)
    for as_ in ("tj-admin", "bj-supervisor"):
        assert api.post("/api/v1/admin/officers/bj-new/reset-password", as_).status_code == 403
        assert api.client.patch(
            "/api/v1/admin/officers/bj-new", headers=api.headers(as_), json={"name": "李四"}
        ).status_code == 403  # fmt: skip
        assert api.client.patch(
            "/api/v1/admin/units/tongzhou", headers=api.headers(as_), json={"name": "x"}
        ).status_code in (403, 404)  # fmt: skip
    assert create(api, as_="tj-admin", bureau="BJ").status_code == 403
    assert api.get("/api/v1/admin/officers", "bj-officer").status_code == 403


def test_units_are_created_renamed_given_a_leader_and_deactivated_only_without_open_cases(api):
    made = api.post(
        "/api/v1/admin/units", "bj-admin", json={"code": "fangshan", "name": "房山分局", "leader": "bj-leader"}
    )
    assert made.status_code == 201 and made.json["leader"] == "bj-leader"
    assert api.post("/api/v1/admin/units", "bj-admin", json={"code": "fangshan", "name": "又一个"}).status_code == 409
    units = {u["code"]: u for u in api.get("/api/v1/admin/units", "bj-admin").json["items"]}
    assert units["fangshan"]["name"] == "房山分局" and "wuqing" not in units

    def patch(code, body):
        return api.client.patch(f"/api/v1/admin/units/{code}", headers=api.headers("bj-admin"), json=body)

    assert patch("fangshan", {"name": "房山区分局"}).json["name"] == "房山区分局"
    case_no = api.to_handling()
    refused = patch("tongzhou", {"active": False})
    assert refused.status_code == 409 and refused.json["details"]["cases"] == [case_no]
    assert case_no in refused.json["message"]
    assert patch("fangshan", {"active": False}).json["active"] is False
    # A deactivated unit takes no new case.
    case2 = api.register()["case_no"]
    api.ok(case2, "accept", "bj-intake")
    assign = api.act(case2, "assign", "bj-dispatcher", unit="fangshan", officer="bj-officer", grade="general",
                     categories=["air"])  # fmt: skip
    assert assign.status_code == 422


def test_deactivation_waits_for_reassignment_and_then_revokes_the_token_at_once(api, client):
    case_no = api.to_handling()
    officer_token = api.headers("bj-officer")
    refused = api.post("/api/v1/admin/officers/bj-officer/deactivate", "bj-admin")
    assert refused.status_code == 409 and refused.json["details"]["cases"] == [case_no]

    api.ok(case_no, "reassign", "bj-supervisor", unit="chaoyang", officer="bj-officer2", reason="人员调整")
    assert api.post("/api/v1/admin/officers/bj-officer/deactivate", "bj-admin").status_code == 200
    assert client.get("/api/v1/complaints", headers=officer_token).status_code == 401
    assert token(client, "bj-officer", PASSWORD).status_code == 401


def test_a_reset_password_ends_the_old_one_and_must_be_changed(api, client):
    old = api.headers("bj-officer")
    otp = api.post("/api/v1/admin/officers/bj-officer/reset-password", "bj-admin").json["one_time_password"]
    assert client.get("/api/v1/complaints", headers=old).status_code == 401
    assert token(client, "bj-officer", PASSWORD).status_code == 401
    assert token(client, "bj-officer", otp).json["error"] == "password_change_required"


def test_unlock_and_role_changes_are_on_the_trail_readable_by_supervisor_not_officer(api, client, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        token(client, "bj-officer", "wrong")
    assert token(client, "bj-officer", PASSWORD).json["error"] == "locked"
    assert api.post("/api/v1/admin/officers/bj-officer/unlock", "bj-admin").status_code == 200
    assert token(client, "bj-officer", PASSWORD).status_code == 200

    changed = api.client.patch(
        "/api/v1/admin/officers/bj-officer", headers=api.headers("bj-admin"),
        json={"roles": [{"role": "officer"}, {"role": "leader", "unit": "tongzhou"}]},
    )  # fmt: skip
    assert changed.status_code == 200
    assert {"role": "leader", "unit": "tongzhou"} in changed.json["roles"]

    trail = api.get("/api/v1/admin/events", "bj-supervisor").json["items"]
    assert [e["action"] for e in trail][:2] == ["update_officer", "unlock_officer"]
    assert trail[0]["actor"] == "bj-admin" and trail[0]["target"] == "bj-officer"
    assert trail[0]["before"]["roles"] == [{"role": "officer", "unit": None}]
    assert api.get("/api/v1/admin/events", "bj-officer").status_code == 403
    assert api.get("/api/v1/admin/events", "tj-admin").json["items"] == []


# --- 改派 -------------------------------------------------------------------------------------------


def test_reassign_restarts_the_sign_clock_and_the_reply_clock_runs_on(api):
    case_no = api.to_handling()
    before = {c["kind"]: c for c in api.complaint(case_no)["clocks"]}
    assert (
        api.act(case_no, "reassign", "bj-officer", unit="chaoyang", officer="bj-officer2", reason="x").status_code
        == 403
    )
    missing = api.act(case_no, "reassign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2")
    assert missing.status_code == 422 and "reason" in missing.json["details"]["fields"]
    same = api.act(case_no, "reassign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", reason="x")
    assert same.status_code == 422

    with time_machine.travel(utcnow().timestamp() + 3600, tick=False):
        case = api.ok(case_no, "reassign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2", reason="辖区调整")
    assert case["state"] == "assigned" and case["officer"] == "bj-officer2" and case["unit"] == "chaoyang"
    clocks = [c for c in case["clocks"] if c["kind"] == "sign"]
    assert clocks[-1]["stopped_at"] is None and clocks[-1]["due_at"] > before["sign"]["due_at"]
    reply = [c for c in case["clocks"] if c["kind"] == "reply"]
    assert len(reply) == 1 and reply[0]["due_at"] == before["reply"]["due_at"] and reply[0]["stopped_at"] is None
    event = api.events(case_no)[-1]
    assert event["action"] == "reassign" and event["data"]["from_officer"] == "bj-officer"
    assert api.act(case_no, "sign", "bj-officer").status_code == 403
    api.ok(case_no, "sign", "bj-officer2")


# --- accounts that hold ----------------------------------------------------------------------------


def test_thirty_concurrent_wrong_logins_count_at_most_the_limit_and_then_lock(live_server, staff, app, db):
    limit = app.config["LOGIN_MAX_FAILURES"]

    def guess(i):
        return requests.post(
            f"{live_server}/api/v1/auth/token", json={"username": "bj-officer", "password": f"wrong-{i}"}, timeout=60
        ).json()["error"]

    with ThreadPoolExecutor(30) as pool:
        errors = list(pool.map(guess, range(30)))
    assert errors.count("bad_credentials") <= limit
    assert set(errors) <= {"bad_credentials", "locked"}
    right = requests.post(f"{live_server}/api/v1/auth/token", json={"username": "bj-officer", "password": PASSWORD})
    assert right.status_code == 401 and right.json()["error"] == "locked"


def test_api_logout_revokes_the_token(api, client):
    headers = api.headers("bj-officer")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    assert client.get("/api/v1/complaints", headers=headers).status_code == 401


def csrf(client, path) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).text).group(1)


def test_a_copied_session_cookie_gets_the_login_page_after_logout(app, staff):
    browser = ThreadedClient(app.test_client())
    browser.post("/login", data={"username": "bj-officer", "password": PASSWORD, "csrf_token": csrf(browser, "/login")})
    cookie = browser.get_cookie("session").value
    thief = ThreadedClient(app.test_client())
    thief.set_cookie("session", cookie)
    assert thief.get("/").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf(browser, "/")})
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_one_time_password_on_the_web_leads_to_the_change_form_and_then_in(api, app):
    otp = create(api).json["one_time_password"]
    browser = ThreadedClient(app.test_client())
    login = browser.post("/login", data={"username": "bj-new", "password": otp, "csrf_token": csrf(browser, "/login")})
    assert login.status_code == 302 and "/password" in login.headers["Location"]
    assert browser.get("/").status_code == 302  # not logged in
    form = {"username": "bj-new", "password": otp, "new_password": "short", "confirm": "short"}
    weak = browser.post("/password", data={**form, "csrf_token": csrf(browser, "/password")})
    assert weak.status_code == 422 and "至少" in weak.text
    form.update(new_password=NEW_PASSWORD, confirm=NEW_PASSWORD, csrf_token=csrf(browser, "/password"))
    assert browser.post("/password", data=form).headers["Location"] == "/"
    assert "我的工作台" in browser.get("/").text


# --- the commands ----------------------------------------------------------------------------------


def test_bootstrap_and_officer_commands(runner, db):
    result = runner.invoke(args=["ecoflow", "bootstrap", "--bureau", "BJ", "--admin", "bj-root"])
    assert result.exit_code == 0, result.output
    assert re.search(r"bj-root: one-time password \S{12,}", result.output)
    assert runner.invoke(args=["ecoflow", "unit", "create", "tongzhou", "通州分局", "--bureau", "BJ"]).exit_code == 0
    made = runner.invoke(
        args=["ecoflow", "officer", "create", "bj-o", "--name", "赵六", "--bureau", "BJ", "--unit", "tongzhou",
              "--role", "officer", "--role", "leader@tongzhou"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    bad = runner.invoke(args=["ecoflow", "officer", "create", "bj-p", "--name", "x", "--bureau", "BJ", "--role", "god"])
    assert bad.exit_code != 0 and "god" in bad.output
    assert runner.invoke(args=["ecoflow", "officer", "deactivate", "bj-o"]).exit_code == 0
    trail = db.session.scalars(select(AdminEvent.action).order_by(AdminEvent.id)).all()
    assert trail == ["create_officer", "create_unit", "create_officer", "deactivate_officer"]
