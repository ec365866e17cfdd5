"""A production start (ECOFLOW_ENV=production) refuses what would be unsafe, naming the setting."""

from __future__ import annotations

import pytest

from ecoflow import create_app
from ecoflow.config import ProductionConfigError
from ecoflow.extensions import db as _db
from ecoflow.officers.models import Officer

from .conftest import PASSWORD


def production(database_uri, **config):
    return create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": database_uri, "TESTING": True, **config})


def dispose(app):
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def served(monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)  # as under gunicorn, not a flask command
    monkeypatch.delenv("SECRET_KEY", raising=False)


def test_no_secret_key_refuses_the_start_naming_it(database_uri):
    with pytest.raises(ProductionConfigError, match="SECRET_KEY"):
        production(database_uri)


def test_peers_without_a_history_key_refuse_the_start(database_uri):
    peers = {"HE": {"url": "https://he.example/", "public_key": "x"}}
    with pytest.raises(ProductionConfigError, match="HISTORY_KEY"):
        production(database_uri, SECRET_KEY="s" * 40, EXCHANGE_PEERS=peers)


def test_an_active_demo_account_refuses_the_start_until_deactivated(database_uri, staff, db):
    officer = db.session.query(Officer).filter_by(username="bj-officer").one()
    officer.is_demo = True
    db.session.commit()
    with pytest.raises(ProductionConfigError, match="bj-officer"):
        production(database_uri, SECRET_KEY="s" * 40)
    officer.is_active = False
    db.session.commit()
    app = production(database_uri, SECRET_KEY="s" * 40, WTF_CSRF_ENABLED=False)
    response = app.test_client().post("/login", data={"username": "bj-intake", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    dispose(app)


def test_seed_demo_marks_its_accounts(runner, db):
    assert runner.invoke(args=["ecoflow", "seed-demo"]).exit_code == 0
    assert db.session.query(Officer).filter_by(is_demo=False).count() == 0
