"""What operators see first: /healthz, /readyz naming each failed check, and the red banner when the
scheduler has stopped."""

from __future__ import annotations

import time_machine
from sqlalchemy import event

from ecoflow.scheduling import run_exchange, run_jobs
from ecoflow.timeutil import utcnow

from .test_web import ThreadedClient, log_in


def test_healthz_answers_without_the_database(client, db):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get("/healthz")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert statements == []


def test_readyz_names_a_stale_scheduler_and_is_ready_again_when_one_runs(app, staff):
    client = ThreadedClient(app.test_client())
    never = client.get("/readyz")
    assert never.status_code == 503 and {"scheduler", "exchange"} <= set(never.json["failed"])

    run_jobs(app, "test-holder")
    run_exchange(app, "test-holder")
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["failed"] == {} and ready.json["checks"]["database"] == "ok"
    assert "notices_queued" in ready.json["report"] and "holidays_unknown" in ready.json["report"]

    ttl = 3 * app.config["SCHEDULER_INTERVAL_SECONDS"]
    with time_machine.travel(utcnow().timestamp() + ttl + 5, tick=False):
        run_exchange(app, "test-holder")  # the deliverer runs on, the scheduler's sweep does not
        stale = client.get("/readyz")
        assert stale.status_code == 503 and list(stale.json["failed"]) == ["scheduler"]
        run_jobs(app, "another-holder")  # a standby scheduler takes the lapsed lease over
        assert client.get("/readyz").status_code == 200


def test_a_supervisor_sees_the_red_banner_while_the_scheduler_is_stopped(app, staff):
    client = ThreadedClient(app.test_client())
    run_jobs(app, "test-holder")
    log_in(client, "bj-supervisor")
    assert "调度进程" not in client.get("/").text
    ttl = 3 * app.config["SCHEDULER_INTERVAL_SECONDS"]
    with time_machine.travel(utcnow().timestamp() + ttl + 60, tick=False):
        page = client.get("/").text
        assert 'id="scheduler-stopped"' in page and "督办升级和跨局移送已停止" in page
        officer = ThreadedClient(app.test_client())
        log_in(officer, "bj-officer")
        assert "scheduler-stopped" not in officer.get("/").text  # an officer's workbench is not the place
        assert "scheduler-stopped" in officer.get("/supervision").text  # the 督办 page is
