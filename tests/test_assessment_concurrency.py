"""Officers of one unit acting on their cases at the same moments: every action succeeds (the shared
monthly counts are locked in one order, so no deadlock), and the counts kept under that contention
equal the counts rebuilt from the cases. Real threads, each with its own client and session, released
together by a barrier step after step; on PostgreSQL the requests really overlap."""

from __future__ import annotations

import threading

from sqlalchemy import select

from ecoflow.assessment.facts import rebuild_facts
from ecoflow.assessment.models import MonthlyCount

from .conftest import COMPLAINT, PASSWORD

THREADS = 6
STEPS = [
    ("accept", "bj-intake", {}),
    ("assign", "bj-dispatcher", {"unit": "tongzhou", "officer": "bj-officer", "grade": "general",
                                 "categories": ["air", "noise"]}),
    ("sign", "bj-officer", {}),
    ("contact", "bj-officer", {"method": "电话"}),
    ("reply", "bj-officer", {"result": "已整改", "text": "已处理"}),
    ("follow_up", "bj-intake", {"resolved": False, "satisfaction": "unsatisfied"}),
    ("reply", "bj-officer", {"result": "再次整改", "text": "已处理"}),
    ("follow_up", "bj-intake", {"resolved": True, "satisfaction": "satisfied"}),
]  # fmt: skip


def counts(db):
    columns = [c for c in MonthlyCount.__table__.columns if c.name != "id"]
    return sorted(tuple(row) for row in db.session.execute(select(*columns).where(MonthlyCount.n != 0)))


def test_concurrent_actions_keep_the_monthly_counts_exact(app, api, db):
    tokens = {}
    for user in ("bj-intake", "bj-dispatcher", "bj-officer"):
        response = app.test_client().post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
        tokens[user] = {"Authorization": f"Bearer {response.json['token']}"}
    barrier, failures = threading.Barrier(THREADS, timeout=60), []

    def lifecycle(n):
        client = app.test_client()
        body = {**COMPLAINT, "location": {"address": f"北京市通州区梨园镇某小区{n}号楼"}}
        case = client.post("/api/v1/complaints", json=body, headers=tokens["bj-intake"]).json
        for action, who, fields in STEPS:
            barrier.wait()
            response = client.post(f"/api/v1/complaints/{case['case_no']}/actions/{action}", headers=tokens[who],
                                   json={"version": case["version"], **fields})  # fmt: skip
            if response.status_code != 200:
                failures.append((action, response.status_code, response.get_json(silent=True)))
                barrier.abort()
                return
            case = response.json

    db.session.rollback()  # SQLite: the test's own open transaction would hold the write lock
    threads = [threading.Thread(target=lifecycle, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.rollback()  # a fresh transaction sees what the threads committed
    assert failures == [] and not any(t.is_alive() for t in threads)

    kept = counts(db)
    follow_ups = [row for row in kept if row[6] == "follow_up"]
    assert sum(row[8] for row in follow_ups) == 2 * THREADS  # n: two follow-ups a case
    rebuild_facts()
    db.session.commit()
    assert counts(db) == kept
