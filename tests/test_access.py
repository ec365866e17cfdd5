"""Who may do and see what: tokens, roles, bureaus, the assignee, personal data."""

import dataclasses
from types import MappingProxyType

import time_machine
from sqlalchemy import select

from ecoflow.complaints.models import PersonalDataView
from ecoflow.timeutil import utcnow

from .conftest import PASSWORD


def test_token_is_issued_for_good_credentials_only(client, staff):
    good = client.post("/api/v1/auth/token", json={"username": "bj-intake", "password": PASSWORD})
    assert good.status_code == 200
    assert good.json["token"] and good.json["expires_at"]

    bad = client.post("/api/v1/auth/token", json={"username": "bj-intake", "password": "wrong"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert bad.status_code == unknown.status_code == 401
    assert bad.json["error"] == unknown.json["error"] == "bad_credentials"


def test_inactive_officer_cannot_log_in(client, make_officer, staff):
    make_officer("bj-gone", ["intake"], active=False)
    response = client.post("/api/v1/auth/token", json={"username": "bj-gone", "password": PASSWORD})
    assert response.status_code == 401


def test_every_call_needs_a_valid_token(client, api):
    assert client.get("/api/v1/complaints").status_code == 401
    assert client.get("/api/v1/complaints", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/api/v1/units", headers={"Authorization": "Basic abc"}).json["error"] == "missing_token"


def test_token_expires(api, app):
    headers = api.headers("bj-intake")
    later = utcnow().timestamp() + app.config["TOKEN_TTL_SECONDS"] + 60
    with time_machine.travel(later, tick=False):
        response = api.client.get("/api/v1/complaints", headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "token_expired"


def test_officer_of_another_bureau_cannot_see_or_act(api):
    case_no = api.register()["case_no"]

    assert api.get(f"/api/v1/complaints/{case_no}", "tj-intake").status_code == 403
    response = api.act(case_no, "accept", "tj-intake")
    assert response.status_code == 403
    assert response.json["error"] == "other_bureau"
    assert api.complaint(case_no)["state"] == "received"
    listed = api.get("/api/v1/complaints", "tj-supervisor").json
    assert listed["total"] == 0


def test_intake_cannot_register_for_another_bureau(api):
    response = api.post(
        "/api/v1/complaints", "bj-intake",
        json={"bureau": "TJ", "channel": "online", "type": "complaint", "description": "x",
              "location": {"address": "天津市武清区"}},
    )  # fmt: skip
    assert response.status_code == 403


def test_a_role_cannot_take_another_roles_action(api):
    case_no = api.register()["case_no"]
    response = api.act(case_no, "accept", "bj-dispatcher")
    assert response.status_code == 403
    assert response.json["details"]["required_roles"] == ["intake"]
    api.ok(case_no, "accept", "bj-intake")
    assert api.act(case_no, "grade", "bj-intake", grade="general", categories=["air"]).status_code == 403


def test_only_the_assigned_officer_signs_replies_and_returns(api):
    case_no = api.register()["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    api.ok(
        case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general", categories=["air"]
    )

    assert api.act(case_no, "sign", "bj-officer2").json["error"] == "not_assignee"
    api.ok(case_no, "sign", "bj-officer")
    assert api.act(case_no, "reply", "bj-officer2", result="x", text="x").status_code == 403
    assert api.act(case_no, "return", "bj-officer2", reason="x").status_code == 403
    assert api.complaint(case_no)["state"] == "handling"


def test_assign_only_to_an_officer_of_the_bureau(api):
    case_no = api.register()["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    for unit, officer, field in [("tongzhou", "tj-officer", "officer"), ("nowhere", "bj-officer", "unit"),
                                 ("tongzhou", "bj-intake", "officer")]:  # fmt: skip
        response = api.act(
            case_no, "assign", "bj-dispatcher", unit=unit, officer=officer, grade="general", categories=["air"]
        )
        assert response.status_code == 422, (unit, officer)
        assert field in response.json["details"]["fields"]
    assert api.complaint(case_no)["state"] == "accepted"


def test_unit_scoped_role_applies_to_its_units_cases_only(api, make_officer):
    make_officer("bj-chaoyang-supervisor", ["supervisor"], unit="chaoyang", role_unit="chaoyang")
    case_no = api.to_handling()  # handled by 通州分局
    assert api.act(case_no, "pause", "bj-chaoyang-supervisor", reason="x").status_code == 403


def test_personal_data_only_for_intake_and_the_assigned_officer(api, db):
    case_no = api.to_handling()

    for username in ("bj-intake", "bj-officer"):
        complainant = api.complaint(case_no, as_=username)["complainant"]
        assert (complainant["name"], complainant["phone"], complainant["masked"]) == ("张三", "13812345678", False)
    for username in ("bj-dispatcher", "bj-supervisor", "bj-officer2", "bj-leader"):
        complaint = api.complaint(case_no, as_=username)
        assert complaint["complainant"]["phone"] == "138****5678"
        assert complaint["complainant"]["name"] == "张*"
        assert complaint["location"]["address"] == "北京市通州区****"


def test_lists_always_mask(api):
    api.to_handling()
    item = api.get("/api/v1/complaints", "bj-intake").json["items"][0]
    assert item["complainant"]["phone"] == "138****5678"


def test_every_unmasked_read_is_logged(api, db):
    case_no = api.register()["case_no"]
    before = db.session.query(PersonalDataView).count()

    api.complaint(case_no, as_="bj-intake")
    api.complaint(case_no, as_="bj-supervisor")  # masked: not logged

    views = db.session.scalars(select(PersonalDataView).order_by(PersonalDataView.id)).all()[before:]
    assert [(v.purpose, v.officer_id is not None) for v in views] == [("view", True)]


def test_sensitive_complaint_is_hidden_from_the_handling_officer(api):
    case_no = api.to_handling(sensitive=True)
    assert api.complaint(case_no, as_="bj-officer")["complainant"]["masked"] is True
    assert api.complaint(case_no, as_="bj-intake")["complainant"]["masked"] is False


def test_events_carry_no_personal_data(api):
    case_no = api.to_handling()
    timeline = str(api.events(case_no))
    assert "13812345678" not in timeline and "张三" not in timeline


def test_notes_naming_the_complainant_are_masked_on_the_timeline_for_those_who_see_them_masked(api, db):
    case_no = api.to_handling()
    note = "已电话联系张三（13812345678），约定明日到北京市通州区梨园镇云景里小区3号楼现场查看；另留备用号15900001111。"
    api.ok(case_no, "contact", "bj-officer", method="phone", note=note)

    seen_by_supervisor = api.events(case_no, as_="bj-supervisor")[-1]["data"]["note"]
    assert seen_by_supervisor == (
        "已电话联系张*（138****5678），约定明日到北京市通州区****现场查看；另留备用号159****1111。"
    )
    logged = db.session.scalars(select(PersonalDataView.purpose)).all()
    assert "timeline" not in logged

    assert api.events(case_no, as_="bj-officer")[-1]["data"]["note"] == note
    assert db.session.scalars(select(PersonalDataView.purpose)).all().count("timeline") == 1


def test_only_intake_finds_cases_by_their_exact_address(api):
    case_no = api.register(location={"address": "北京市通州区梨园镇云景里小区3号楼"})["case_no"]

    def found(username):
        listed = api.get("/api/v1/complaints", username, query_string={"text": "云景里小区3号楼"}).json
        return [c["case_no"] for c in listed["items"]]

    assert found("bj-intake") == [case_no]
    assert found("bj-supervisor") == []  # the address is masked for them; search must not reveal it


def test_a_role_withdrawn_or_an_officer_deactivated_here_counts_on_the_next_call(api, db):
    from ecoflow.officers.models import Officer, RoleGrant

    case_no = api.register()["case_no"]
    assert api.ok(case_no, "accept", "bj-intake")
    officer = db.session.scalar(select(Officer).where(Officer.username == "bj-dispatcher"))
    assert api.get(f"/api/v1/complaints/{case_no}", "bj-dispatcher").status_code == 200

    db.session.delete(db.session.scalar(select(RoleGrant).where(RoleGrant.officer_id == officer.id)))
    db.session.commit()
    assert api.get(f"/api/v1/complaints/{case_no}", "bj-dispatcher").json["error"] == "other_bureau"

    officer.is_active = False
    db.session.commit()
    assert api.get(f"/api/v1/complaints/{case_no}", "bj-dispatcher").json["error"] == "bad_token"


def test_a_change_made_by_another_process_counts_within_the_officer_cache_time(api, db, app, monkeypatch):
    from sqlalchemy import update

    from ecoflow.officers import services
    from ecoflow.officers.models import Officer

    case_no = api.register()["case_no"]
    assert api.get(f"/api/v1/complaints/{case_no}", "bj-intake").status_code == 200
    # Another worker deactivates the officer: this process's session sees nothing of it.
    with db.engine.begin() as connection:
        connection.execute(update(Officer).where(Officer.username == "bj-intake").values(is_active=False))
    db.session.remove()  # each request of a server has a session of its own

    started = services.monotonic()
    monkeypatch.setattr(services, "monotonic", lambda: started + app.config["OFFICER_CACHE_SECONDS"] - 1)
    assert api.get(f"/api/v1/complaints/{case_no}", "bj-intake").status_code == 200
    monkeypatch.setattr(services, "monotonic", lambda: started + app.config["OFFICER_CACHE_SECONDS"] + 1)
    assert api.get(f"/api/v1/complaints/{case_no}", "bj-intake").json["error"] == "bad_token"


def test_api_answers_set_no_session_cookie(api):
    case_no = api.register()["case_no"]

    response = api.get(f"/api/v1/complaints/{case_no}", "bj-intake")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_who_operates_the_exchange_is_the_norms_word(app, api, monkeypatch):
    """workflows/access.yaml's operates_exchange, not a list in code: a leader put there gets in, a
    supervisor taken out does not."""
    norm = app.extensions["ecoflow.norm"]
    access = MappingProxyType({**norm.access, "operates_exchange": frozenset({"admin", "leader"})})
    monkeypatch.setitem(app.extensions, "ecoflow.norm", dataclasses.replace(norm, access=access))
    assert api.get("/api/v1/exchange/status", "bj-leader").status_code == 200
    refused = api.get("/api/v1/exchange/status", "bj-supervisor")
    assert refused.status_code == 403 and "分管领导" in refused.json["message"]
