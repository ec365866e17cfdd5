"""The officers' web pages through the Flask test client: login, lockout, session timeout, CSRF,
masking, menus, forms derived from the norm, and no query per row."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
import yaml
from sqlalchemy import event, func, select

from ecoflow import create_app
from ecoflow.complaints.models import PersonalDataView
from ecoflow.timeutil import SHANGHAI, utcnow

from .conftest import PASSWORD, Api


class ThreadedClient:
    """A test client whose requests each run in a fresh thread, as a server's would: no app
    context (and no `g`, which caches the logged-in user and the CSRF token) is shared with the
    test's own or with the previous request's."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        method = getattr(self.client, name)

        def call(*args, **kwargs):
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(method, *args, **kwargs).result()

        return call


@pytest.fixture
def client(app, db):
    return ThreadedClient(app.test_client())


def csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).text).group(1)


def log_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})


@pytest.fixture
def web(app, staff):
    """log in: web("bj-intake") → a test client with that officer's session."""

    def login(username):
        client = ThreadedClient(app.test_client())
        assert log_in(client, username).status_code == 302
        return client

    return login


def test_login_shows_the_workbench_and_logout_ends_the_session(client, staff):
    assert client.get("/").headers["Location"].startswith("/login")
    response = log_in(client, "bj-officer")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "我的工作台" in client.get("/").text
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_in_chinese(client, staff):
    response = log_in(client, "bj-officer", "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="bj-officer"' in response.text  # what was typed is kept


def test_repeated_failures_lock_the_account_for_web_and_api(client, staff, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        log_in(client, "bj-officer", "wrong")
    response = log_in(client, "bj-officer")  # even the right password
    assert response.status_code == 401 and "已锁定" in response.text
    api = client.post("/api/v1/auth/token", json={"username": "bj-officer", "password": PASSWORD})
    assert api.status_code == 401 and api.json["error"] == "locked"
    later = utcnow().timestamp() + app.config["LOGIN_LOCKOUT_SECONDS"] + 1
    with time_machine.travel(later, tick=False):
        assert log_in(client, "bj-officer").status_code == 302


def test_session_times_out_when_idle(client, staff, app):
    log_in(client, "bj-officer")
    assert client.get("/").status_code == 200
    later = utcnow().timestamp() + app.permanent_session_lifetime.total_seconds() + 60
    with time_machine.travel(later, tick=False):
        response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_form_without_its_csrf_token_is_refused(web, api):
    case_no = api.register()["case_no"]
    client = web("bj-intake")
    response = client.post(f"/complaints/{case_no}/actions/accept", data={"accept-version": "1"})
    assert response.status_code == 400 and "表单已过期" in response.text
    assert api.complaint(case_no)["state"] == "received"


def test_login_redirects_only_within_the_site(client, staff):
    token = csrf(client)
    data = {"username": "bj-officer", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login?next=//evil.example/x", data=data).headers["Location"] == "/"


def test_menus_show_what_the_roles_allow(web):
    intake, officer = web("bj-intake").get("/").text, web("bj-officer").get("/").text
    assert "登记" in intake and "分级派单" not in intake
    assert "登记</a>" not in officer and "分级派单" not in officer
    assert "分级派单" in web("bj-dispatcher").get("/").text


def test_personal_data_is_masked_as_the_api_masks_it_and_unmasked_views_are_logged(web, api, db):
    case_no = api.to_handling()
    api.ok(case_no, "contact", "bj-officer", method="电话", note="已致电 13812345678，张三说明了情况。")
    supervisor = web("bj-supervisor").get(f"/complaints/{case_no}").text
    assert "138****5678" in supervisor and "13812345678" not in supervisor  # the timeline's note too
    assert "云景里" not in supervisor
    officer = web("bj-officer").get(f"/complaints/{case_no}").text
    assert "13812345678" in officer and "云景里" in officer
    workbench = web("bj-officer").get("/").text
    assert "云景里" not in workbench  # lists always mask
    views = db.session.scalars(select(PersonalDataView.purpose)).all()
    db.session.rollback()
    assert "web" in views


def test_action_forms_are_exactly_those_the_norm_allows_with_their_fields(web, api, app):
    case_no = api.to_handling()
    page = web("bj-officer").get(f"/complaints/{case_no}").text
    with app.app_context():
        from ecoflow.norm.current import get_norm

        norm = get_norm()
        allowed = api.complaint(case_no, as_="bj-officer")["allowed_actions"]
        for name, action in norm.actions.items():
            assert (f'id="action-{name}"' in page) == (name in allowed), name
            for field in action.fields if name in allowed else ():
                assert f'name="{name}-{field}"' in page, (name, field)


def test_an_action_added_to_the_norm_gets_its_form(tmp_path, database_uri, staff, db):
    workflows = tmp_path / "workflows"
    shutil.copytree(create_app.__globals__["load_config"].__globals__["ROOT"] / "workflows", workflows)
    lifecycle = yaml.safe_load((workflows / "lifecycle.yaml").read_text(encoding="utf-8"))
    lifecycle["actions"]["transfer"] = {
        "label": "移送", "from": ["received"], "roles": ["intake"],
        "fields": {"to_bureau": {"type": "string", "required": True, "label": "移送至"}, "days": {"type": "integer"}},
    }  # fmt: skip
    (workflows / "lifecycle.yaml").write_text(yaml.safe_dump(lifecycle, allow_unicode=True), encoding="utf-8")
    other = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "SECRET_KEY": "x", "WORKFLOWS_DIR": str(workflows)})
    client = ThreadedClient(other.test_client())
    case_no = Api(client).register()["case_no"]
    log_in(client, "bj-intake")
    page = client.get(f"/complaints/{case_no}").text
    assert 'id="action-transfer"' in page and "移送至" in page
    assert 'name="transfer-to_bureau"' in page and 'type="number"' in page
    response = client.post(
        f"/complaints/{case_no}/actions/transfer", data={"csrf_token": csrf(client, "/"), "transfer-version": "1"}
    )
    assert response.status_code == 422 and "此项为必填项" in response.text
    with other.app_context():
        other.extensions["sqlalchemy"].engine.dispose()


@contextmanager
def count_queries(engine):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _pages(api, n):
    """n cases in every position a page lists them, and the pages that list them."""
    cases = [api.to_handling(grade="key") for _ in range(n)]  # one place: the history grows too
    for case_no in cases:
        api.ok(case_no, "supervise", "bj-supervisor", note="请尽快办理。")  # a notice to the officer
    for _ in range(n):
        api.ok(api.register()["case_no"], "accept", "bj-intake")
        api.ok(api.to_handling(), "return", "bj-officer", reason="不属本单位")  # 退单, with its badge
    return [("bj-supervisor", "/"), ("bj-supervisor", "/?text=工厂"), ("bj-dispatcher", "/dispatch"),
            ("bj-supervisor", "/supervision"), ("bj-officer", "/notifications"),
            ("bj-supervisor", f"/complaints/{cases[-1]}")]  # fmt: skip


def test_no_page_makes_a_query_per_row(web, api, db):
    def counts():
        later = utcnow().timestamp() + 40 * 86400  # every clock overdue, on the supervision board
        with time_machine.travel(later, tick=False):
            clients = {user: web(user) for user in {user for user, _ in paths}}
        with time_machine.travel(later, tick=False), count_queries(db.engine) as statements:
            result = []
            for user, path in paths:
                start = len(statements)
                response = clients[user].get(path)
                assert response.status_code == 200, path
                result.append((len(statements) - start, response.text.count('href="/complaints/BJ-')))
        return result

    paths = _pages(api, 2)
    few = counts()
    paths = _pages(api, 6)
    many = counts()
    assert [queries for queries, _ in many] == [queries for queries, _ in few]
    assert all(m > f for (_, m), (_, f) in zip(many, few, strict=True))  # with more rows shown


def _ledger_leaders(page: str) -> dict[str, str]:
    """The 督办 page's ledger: case number → its 包案领导 cell."""
    ledger = page[page.index('id="ledger"') :]
    return dict(re.findall(r'>(BJ-[\d-]+)</a>.*?<td class="leaders">([^<]*)</td>', ledger, re.S))


def test_the_ledger_names_each_key_cases_leaders_on_the_board_and_in_the_api(web, api, make_officer):
    make_officer("bj-chaoyang-leader", ["leader"], role_unit="chaoyang")  # by grant for the unit
    make_officer("bj-chaoyang-retired", ["leader"], role_unit="chaoyang", active=False)
    make_officer("bj-tongzhou-retired", ["leader"], unit="tongzhou", active=False)  # bj-leader is a member
    make_officer("bj-deputy", ["leader"])  # bureau-wide, in no unit
    make_officer("bj-retired", ["leader"], active=False)
    make_officer("bj-office-officer", ["officer"], unit="supervision")
    tongzhou = api.to_handling(grade="key")
    chaoyang = api.to_handling(grade="key", unit="chaoyang", officer="bj-officer2")
    office = api.to_handling(grade="key", unit="supervision", officer="bj-office-officer")  # no leader of its own
    # One named 包案 leader each: the unit's; for a unit without one, the first of the bureau's leaders.
    expected = {tongzhou: ["bj-leader"], chaoyang: ["bj-chaoyang-leader"], office: ["bj-deputy"]}
    ledger = api.get("/api/v1/supervision/ledger", "bj-supervisor").json
    assert {entry["case_no"]: entry["leaders"] for entry in ledger} == expected
    page = web("bj-supervisor").get("/supervision").text
    assert "包案领导" in page
    assert _ledger_leaders(page) == {case_no: "、".join(names) for case_no, names in expected.items()}


def test_the_ledger_reads_its_leaders_in_a_fixed_number_of_statements(web, api, db, make_officer):
    make_officer("bj-chaoyang-leader", ["leader"], role_unit="chaoyang")
    units = [("tongzhou", "bj-officer", "bj-leader"), ("chaoyang", "bj-officer2", "bj-chaoyang-leader")]
    client, cases = web("bj-supervisor"), []

    def counts(n):
        while len(cases) < n:
            unit, officer, _ = units[len(cases) % 2]
            cases.append(api.to_handling(grade="key", unit=unit, officer=officer))
        result = []
        for read in (
            lambda: api.get("/api/v1/supervision/ledger", "bj-supervisor"),
            lambda: client.get("/supervision"),
        ):
            read()  # once unmeasured: whatever is cached per officer is read before counting
            with count_queries(db.engine) as statements:
                response = read()
            assert response.status_code == 200
            result.append(len(statements))
        leaders = [units[i % 2][2] for i in range(n)]
        ledger = api.get("/api/v1/supervision/ledger", "bj-supervisor").json
        assert [(e["case_no"], e["leaders"]) for e in ledger] == [
            (c, [name]) for c, name in zip(cases, leaders, strict=True)
        ]
        assert _ledger_leaders(client.get("/supervision").text) == dict(zip(cases, leaders, strict=True))
        return result

    assert counts(3) == counts(12)


def test_the_menu_counts_unread_notices_and_the_inbox_marks_them_read(web, api):
    case_no = api.to_handling()
    api.ok(case_no, "supervise", "bj-supervisor", note="请尽快办理。")
    client = web("bj-officer")
    page = client.get("/notifications").text
    # 新派单 and 督办
    assert re.search(r'id="unread">2<', page) and f"督办：案件 {case_no}" in page
    client.post("/notifications/read", data={"csrf_token": csrf(client, "/notifications")})
    assert 'id="unread"' not in client.get("/notifications").text


def test_a_role_held_for_one_unit_sees_that_units_cases(web, api, make_officer):
    make_officer("bj-chaoyang-supervisor", ["supervisor"], role_unit="chaoyang")
    theirs = api.to_handling(unit="chaoyang", officer="bj-officer2")
    other = api.to_handling()
    page = web("bj-chaoyang-supervisor").get("/").text
    assert theirs in page and other not in page


def test_lists_count_cases_per_state(web, api):
    api.to_handling()
    api.ok(api.register()["case_no"], "accept", "bj-intake")
    page = web("bj-supervisor").get("/").text
    assert re.search(r"办理中 <b>1</b>", page) and re.search(r"受理 <b>1</b>", page)
    assert web("bj-officer2").get("/").text.count("/complaints/BJ-") == 0  # not theirs


def test_total_registrations_are_not_changed_by_an_invalid_intake(web, db):
    client = web("bj-intake")
    token = csrf(client, "/complaints/new")
    response = client.post(
        "/complaints/new",
        data={"csrf_token": token, "channel": "nonsense", "type": "complaint", "address": "x", "description": "y"},
    )
    assert response.status_code == 422
    from ecoflow.complaints.models import Complaint

    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    db.session.rollback()


def test_unknown_pages_and_cases_answer_in_chinese(web):
    client = web("bj-officer")
    assert "页面不存在" in client.get("/no-such-page").text
    response = client.get("/complaints/BJ-19990101-0001")
    assert response.status_code == 404 and "不存在" in response.text
    assert client.get("/api/v1/complaints/x").json["error"] == "missing_token"  # the API keeps its JSON


def test_a_long_workbench_says_it_shows_only_the_first_due(web, api, monkeypatch):
    from ecoflow.complaints import views

    monkeypatch.setattr(views, "WORKBENCH_ROWS", 1)
    first = api.to_handling(grade="urgent")
    api.to_handling()
    page = web("bj-officer").get("/").text
    assert page.count('href="/complaints/BJ-') == 1 and first in page  # the one due first
    assert 'id="more"' in page


def test_a_summoned_officer_reports_in_and_the_supervisor_closes_the_whistle(web, api):
    case_no = api.to_handling()
    api.ok(case_no, "whistle", "bj-supervisor", reason="多部门联合执法", parties=["officer"])
    supervisor = web("bj-supervisor")
    board = supervisor.get("/supervision").text
    assert "未报到" in board and case_no in board
    whistle_id = re.search(r"/supervision/whistles/(\d+)/report-in", board).group(1)

    officer = web("bj-officer")
    token = csrf(officer, "/supervision")
    empty = officer.post(f"/supervision/whistles/{whistle_id}/report-in", data={"csrf_token": token})
    assert "此项为必填项" in officer.get(empty.headers["Location"]).text  # said, and nothing recorded
    officer.post(
        f"/supervision/whistles/{whistle_id}/report-in", data={"csrf_token": token, "who_will_act": "通州分局执法队"}
    )
    assert "已报到" in supervisor.get("/supervision").text
    supervisor.post(
        f"/supervision/whistles/{whistle_id}/close",
        data={"csrf_token": csrf(supervisor, "/supervision"), "joint_action": "联合执法，已查封排污口"},
    )
    assert "没有未关闭的吹哨" in supervisor.get("/supervision").text
    assert "通州分局执法队" in supervisor.get(f"/complaints/{case_no}").text  # on the timeline


def test_intake_takes_the_time_received_and_refuses_one_in_the_future(web, api):
    client = web("bj-intake")
    form = {"channel": "hotline_12345", "type": "complaint", "address": "北京市通州区梨园镇", "description": "夜间噪音"}
    later = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/complaints/new", data={**form, "received_at": later, "csrf_token": csrf(client, "/complaints/new")}
    )
    assert response.status_code == 422 and "受理时间不能晚于当前时间" in response.text
    response = client.post(
        "/complaints/new",
        data={**form, "received_at": "2026-11-20T09:30", "csrf_token": csrf(client, "/complaints/new")},
    )
    case_no = response.headers["Location"].rsplit("/", 1)[1]
    assert api.complaint(case_no)["received_at"].startswith("2026-11-20T01:30")  # 09:30 in Beijing, stored in UTC


def test_pages_load_nothing_from_outside(web, api, client):
    case_no = api.to_handling()
    pages = [client.get("/login").text]
    supervisor = web("bj-supervisor")
    pages += [supervisor.get(path).text for path in ("/", "/supervision", "/notifications", f"/complaints/{case_no}")]
    pages.append(web("bj-intake").get("/complaints/new").text)
    for page in pages:
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", page)
    response = client.get("/static/app.css")
    css = response.text
    response.close()
    assert "@import" not in css and "url(" not in css


def test_transfers_show_both_sides_with_delivery_and_acknowledgement(web, api, db):
    from ecoflow.exchange.outbox import deliver_outbox

    case_no = api.to_handling()
    api.ok(case_no, "transfer", "bj-officer", to_bureau="HE", reason="污染源位于三河市，属河北管辖。")
    row = web("bj-officer").get("/transfers").text
    assert case_no in row and "待发送" in row and "尚未确认" in row

    deliver_outbox(utcnow())
    db.session.remove()
    he_page = web("he-intake").get("/transfers").text
    lead_no = re.search(r"/complaints/(HE-[0-9-]+)", he_page).group(1)
    assert case_no in he_page  # the origin's case number, on the receiving side
    api.ok(lead_no, "sign_lead", "he-intake", version=api.complaint(lead_no, as_="he-supervisor")["version"])
    deliver_outbox(utcnow())
    db.session.remove()
    sent = web("bj-officer").get("/transfers").text
    assert "已送达" in sent and "已签收" in sent and lead_no in sent
