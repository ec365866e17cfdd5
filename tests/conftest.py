"""Fixtures: the app on a real database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is
set), migrated once per session and emptied after each test; officers and an API client."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime

import flask_migrate
import pytest
from sqlalchemy import create_engine, make_url, text

from ecoflow import create_app
from ecoflow.extensions import db as _db
from ecoflow.extensions import limiter
from ecoflow.officers.models import Bureau, Officer, RoleGrant, Unit
from ecoflow.timeutil import SHANGHAI

PASSWORD = "pw-for-tests"

BUREAUS = {"BJ": "北京市生态环境局", "TJ": "天津市生态环境局", "HE": "河北省生态环境厅"}
UNITS = {
    "BJ": [("tongzhou", "通州分局"), ("chaoyang", "朝阳分局"), ("supervision", "督办室")],
    "TJ": [("wuqing", "武清分局"), ("supervision", "督办室")],
    "HE": [("sanhe", "廊坊市三河市分局"), ("supervision", "督办室")],
}
ROLES = ("intake", "dispatcher", "officer", "supervisor", "leader", "admin")

# A typical phoned-in complaint; tests override what they are about. No SMS to the complainant
# (notify: false), so that the outbox holds only what a test is about; tests/test_complainant_notices.py
# is about the SMS. The smell is at the complainant's home (`at_home`): that place is their personal data.
COMPLAINT = {
    "channel": "hotline_12345",
    "type": "complaint",
    "description": "小区旁边的工厂每天晚上排放废气，异味很重。",
    "complainant": {"name": "张三", "phone": "13812345678", "callback_consent": True, "notify": False},
    "location": {"address": "北京市通州区梨园镇云景里小区3号楼", "at_home": True},
}


def shanghai(*args) -> datetime:
    """An aware datetime in Asia/Shanghai: shanghai(2026, 9, 30, 10)."""
    return datetime(*args, tzinfo=SHANGHAI)


def meet_after_first_call(monkeypatch, owner, name: str, parties: int = 2):
    """Patch owner.name so that each of `parties` threads, after its first call, waits for the others:
    all then hold what that call locked, the interleaving that provokes a deadlock. Returns the original."""
    real = getattr(owner, name)
    barrier, local = threading.Barrier(parties, timeout=20), threading.local()

    def call(*args, **kwargs):
        result = real(*args, **kwargs)
        if not getattr(local, "met", False):
            local.met = True
            barrier.wait()
        return result

    monkeypatch.setattr(owner, name, call)
    return real


def run_together(*calls):
    """Run each call in a thread of its own, all at once, and wait for them (a minute at most)."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def pytest_collection_modifyitems(items):
    """The slow kinds, each run in one of CI's two database passes (.ci/run): `browser` (the pages in
    Chromium, tests/test_browser*.py), `federation` (instances as processes, tests/test_federation*.py)
    and `contract` (schemathesis over the OpenAPI document against a live app, tests/test_contract*.py)."""
    for item in items:
        for kind in ("browser", "federation", "contract"):
            if item.path.name.startswith(f"test_{kind}"):
                item.add_marker(kind)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory, worker_id):
    """SQLite in a temporary folder; on PostgreSQL (TEST_DATABASE_URL) the database named there, or under
    pytest-xdist one beside it per worker (<name>_gw0, ...), made when missing."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    if worker_id == "master":
        return base
    url = make_url(base)
    name = f"{url.database}_{worker_id}"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(database_uri, tmp_path_factory):
    app = create_app({
        "EVIDENCE_DIR": str(tmp_path_factory.mktemp("evidence")),
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECRET_KEY": "test-secret",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "LOGIN_RATE_LIMIT": "",  # tests log in far more often than people; test_rate_limits tests the limit
    })  # fmt: skip
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database, emptied after the test."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        with _db.engine.begin() as connection:
            for table in reversed(_db.metadata.sorted_tables):
                connection.execute(table.delete())
        _db.session.remove()
        limiter.reset()  # the exchange's count of junk per address, the lookups' limits: each test anew


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app, db):
    """The app served over real HTTP on a free port, for tests of what other systems call (and the
    browser's pages)."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def channel_key(db, staff):
    """channel_key("12345 centre", "hotline_12345", "BJ") → the new client's key."""
    from ecoflow.intake.services import create_client

    def make(name, channel, bureau="BJ"):
        _, key = create_client(name, channel, bureau)
        db.session.commit()
        return key

    return make


@pytest.fixture
def make_officer(db):
    """make_officer("bj-x", ["officer"], bureau="BJ", unit="tongzhou") → Officer."""

    def make(username, roles, bureau="BJ", unit=None, role_unit=None, active=True):
        from ecoflow.officers.services import hash_password

        def unit_id(code):
            return db.session.query(Unit.id).filter_by(bureau_code=bureau, code=code).scalar() if code else None

        officer = Officer(
            username=username, name=username, password_hash=hash_password(PASSWORD),
            bureau_code=bureau, unit_id=unit_id(unit), is_active=active,
        )  # fmt: skip
        for role in roles:
            officer.grants.append(RoleGrant(role=role, bureau_code=bureau, unit_id=unit_id(role_unit)))
        db.session.add(officer)
        db.session.commit()
        return officer

    return make


@pytest.fixture
def staff(db, make_officer):
    """The three bureaus with units, and per bureau one officer per role: bj-intake, bj-officer ..."""
    for code, name in BUREAUS.items():
        db.session.add(Bureau(code=code, name=name))
        db.session.add_all(Unit(bureau_code=code, code=c, name=n) for c, n in UNITS[code])
    db.session.commit()
    for code in BUREAUS:
        for role in ROLES:
            make_officer(f"{code.lower()}-{role}", [role], bureau=code, unit=UNITS[code][0][0])
    make_officer("bj-officer2", ["officer"], bureau="BJ", unit="chaoyang")


class Api:
    """A JSON API client that logs in as named officers and keeps each case's version."""

    def __init__(self, client):
        self.client = client
        self.tokens = {}

    def headers(self, username):
        # A token per hour of (possibly travelled) time, so that tests may travel freely.
        key = (username, int(time.time() // 3600))
        if key not in self.tokens:
            response = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.json
            self.tokens[key] = response.json["token"]
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def get(self, path, as_, **kwargs):
        return self.client.get(path, headers=self.headers(as_), **kwargs)

    def post(self, path, as_, **kwargs):
        return self.client.post(path, headers=self.headers(as_), **kwargs)

    def register(self, as_="bj-intake", **fields):
        body = {**COMPLAINT, **fields}
        response = self.post("/api/v1/complaints", as_, json=body)
        assert response.status_code in (200, 201), response.json
        return response.json

    def complaint(self, case_no, as_="bj-supervisor"):
        response = self.get(f"/api/v1/complaints/{case_no}", as_)
        assert response.status_code == 200, response.json
        return response.json

    def act(self, case_no, action, as_, version=None, **fields):
        """Take an action with the current version (or the one given); returns the response."""
        if version is None:
            version = self.complaint(case_no)["version"]
        return self.post(f"/api/v1/complaints/{case_no}/actions/{action}", as_, json={"version": version, **fields})

    def ok(self, case_no, action, as_, **fields):
        """Take an action that must succeed; returns the complaint."""
        response = self.act(case_no, action, as_, **fields)
        assert response.status_code == 200, (action, response.json)
        return response.json

    def events(self, case_no, as_="bj-supervisor"):
        return self.get(f"/api/v1/complaints/{case_no}/events", as_).json

    def to_handling(self, grade="general", categories=("air",), officer="bj-officer", unit="tongzhou", **fields):
        """A new case taken through accept, assign (graded in the same step) and sign."""
        case_no = self.register(**fields)["case_no"]
        self.ok(case_no, "accept", "bj-intake")
        self.ok(
            case_no, "assign", "bj-dispatcher", unit=unit, officer=officer, grade=grade, categories=list(categories)
        )
        self.ok(case_no, "sign", officer)
        return case_no


@pytest.fixture
def api(client, staff):
    return Api(client)
