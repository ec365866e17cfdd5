#!/usr/bin/env python3
"""我的工作台 with many open cases, rendered server-side: wall and CPU time per page and SQL
statements per page, in-process through the Flask test client (no HTTP).

    .venv/bin/python bench/workbench.py --db sqlite --cases 500
    .venv/bin/python bench/workbench.py --db postgres --cases 500

Prepares its own fresh database with the demo data (PostgreSQL: ecoflow_bench_web; never `test`),
adds --cases open cases in `handling` for bj-officer through the same services the forms call, then
times GET / for bj-officer (their cases) and bj-supervisor (the bureau's), and the dispatch queue and
supervision board. Writes bench/results/workbench-<db>-<time>.json. Exit status 1 when the officer's
workbench median exceeds --target ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lifecycle import PASSWORD, RESULTS, ROOT, SECRET_KEY, prepare_database

sys.path.insert(0, str(ROOT))


def add_cases(app, count: int):
    """`count` complaints taken to handling by bj-officer, committed in batches."""
    from sqlalchemy import select

    from ecoflow.casework import engine
    from ecoflow.complaints import intake
    from ecoflow.extensions import db
    from ecoflow.officers.models import Officer
    from ecoflow.timeutil import utcnow

    with app.app_context():
        people = {u: db.session.scalar(select(Officer).where(Officer.username == u)) for u in
                  ("bj-intake", "bj-dispatcher", "bj-officer")}  # fmt: skip
        start = utcnow() - timedelta(days=10)
        for n in range(count):
            at = start + timedelta(minutes=20 * n)
            complaint, _ = intake.register_complaint(people["bj-intake"], {
                "channel": "hotline_12345", "type": "complaint", "description": f"工厂排放废气，异味很重（第{n}号）。",
                "complainant": {"name": "张三", "phone": f"138{n:08d}"},
                "location": {"address": f"北京市通州区梨园镇某小区{n}号楼"}, "received_at": at,
            }, at)  # fmt: skip
            grade = ("general", "key", "urgent")[n % 3]
            steps = [("accept", "bj-intake", {}),
                     ("assign", "bj-dispatcher", {"unit": "tongzhou", "officer": "bj-officer", "grade": grade,
                                                  "categories": ["air"]}),
                     ("sign", "bj-officer", {})]  # fmt: skip
            for action, who, data in steps:
                engine.perform_action(people[who], complaint, action, {**data, "version": complaint.version}, at)
            if n % 50 == 49:
                db.session.commit()
        db.session.commit()


def measure(app, username: str, path: str, repeat: int) -> dict:
    from sqlalchemy import event

    from ecoflow.extensions import db

    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    with app.app_context():
        engine = db.engine
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(1))
    wall, cpu, queries, rows, size = [], [], [], 0, 0
    for n in range(repeat + 3):
        before, started, started_cpu = len(statements), time.perf_counter(), time.process_time()
        response = client.get(path)
        elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        assert response.status_code == 200, (path, response.status_code)
        if n >= 3:  # after warm-up
            wall.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
            queries.append(len(statements) - before)
        rows, size = response.text.count('href="/complaints/'), len(response.data)
    return {
        "user": username, "path": path, "rows": rows, "bytes": size, "queries": max(queries),
        "wall_ms_median": round(statistics.median(wall), 1),
        "wall_ms_p95": round(statistics.quantiles(wall, n=20)[-1], 1),
        "cpu_ms_median": round(statistics.median(cpu), 1),
    }  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-database", default="ecoflow_bench_web")
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--target", type=float, default=300.0, help="ms, median of the officer's workbench")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as workdir:
        url = prepare_database(args.db, args.pg_database, Path(workdir))
        os.environ.setdefault("ECOFLOW_SCHEDULER", "0")
        from ecoflow import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
        started = time.perf_counter()
        add_cases(app, args.cases)
        print(f"{args.cases} open cases added in {time.perf_counter() - started:.1f} s")
        results = [
            measure(app, "bj-officer", "/", args.repeat),
            measure(app, "bj-supervisor", "/", args.repeat),
            measure(app, "bj-dispatcher", "/dispatch", args.repeat),
            measure(app, "bj-supervisor", "/supervision", args.repeat),
        ]
        with app.app_context():
            from ecoflow.extensions import db

            db.engine.dispose()
    load_after = os.getloadavg()

    print(f"{'user':14} {'page':13} {'rows':>5} {'KiB':>5} {'queries':>7} {'median ms':>9} {'p95 ms':>7} {'cpu ms':>7}")
    for r in results:
        print(f"{r['user']:14} {r['path']:13} {r['rows']:5} {r['bytes'] // 1024:5} {r['queries']:7} "
              f"{r['wall_ms_median']:9} {r['wall_ms_p95']:7} {r['cpu_ms_median']:7}")  # fmt: skip
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} cores")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"workbench-{args.db}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps({"args": vars(args), "results": results, "load": [load_before, load_after]}, indent=2))
    print(f"written {out}")
    return 0 if results[0]["wall_ms_median"] <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
