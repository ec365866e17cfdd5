"""Login tries are limited per client address across the web and the API, and across workers when
RATELIMIT_STORAGE_URI names a shared store (Redis at 127.0.0.1:6379, database 1, when reachable)."""

from __future__ import annotations

import socket

import pytest
import redis

from ecoflow import create_app
from ecoflow.extensions import db as _db
from ecoflow.extensions import limiter

REDIS = ("127.0.0.1", 6379)


def redis_reachable() -> bool:
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
        return True
    except OSError:
        return False


WORKERS = []


@pytest.fixture(autouse=True)
def session_limiter(app):
    """The limiter is one object per process: give it back to the session's app after each test
    (and close the other apps' connections)."""
    yield
    limiter.init_app(app)
    while WORKERS:
        with WORKERS.pop().app_context():
            _db.engine.dispose()


def worker(database_uri, storage, limit="3 per minute"):
    """One more process's app (a gunicorn worker) on the same database and rate-limit store."""
    WORKERS.append(new := create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_uri, "SECRET_KEY": "test-secret",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "LOGIN_RATE_LIMIT": limit,
        "RATELIMIT_STORAGE_URI": storage, "WTF_CSRF_ENABLED": False,
    }))  # fmt: skip
    return new


def try_token(app, password="wrong"):
    return app.test_client().post("/api/v1/auth/token", json={"username": "bj-officer", "password": password})


def test_login_tries_are_limited_for_web_and_api_together(database_uri, staff, db):
    app = worker(database_uri, "memory://")
    web = app.test_client()
    assert web.post("/login", data={"username": "bj-intake", "password": "wrong"}).status_code == 401
    assert try_token(app).status_code == 401
    assert try_token(app).status_code == 401
    refused = try_token(app)
    assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
    page = web.post("/login", data={"username": "bj-intake", "password": "wrong"})
    assert page.status_code == 429 and "尝试次数过多" in page.text
    assert web.get("/login").status_code == 200  # reading the form is not a try


def test_workers_share_the_count_through_redis(database_uri, staff, db):
    """The count lives in Redis: a try another worker counted there (added to the key directly) counts here."""
    if not redis_reachable():
        pytest.skip("REDIS TESTS SKIPPED: nothing listens at 127.0.0.1:6379")
    store = redis.Redis(*REDIS, db=1)  # this suite's database of the shared Redis
    for key in store.keys("*/login/*"):
        store.delete(key)
    app = worker(database_uri, "redis://127.0.0.1:6379/1")
    assert [try_token(app).status_code for _ in range(2)] == [401, 401]
    (key,) = store.keys("*/login/*")
    assert int(store.get(key)) == 2
    store.incr(key)  # another worker's try
    assert try_token(app).status_code == 429
    store.delete(key)
