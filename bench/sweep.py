"""Sweep benchmark: how long one sweep takes with a large backlog of open cases and 1,000 due.

    .venv/bin/python bench/sweep.py --open 10000 100000 1000000 --due 1000

For each backlog size it builds a fresh PostgreSQL database (ecoflow_bench_sweep, dropped and
recreated; never `test`), bulk-loads that many open cases in `handling` with a running reply clock
whose next rung is weeks away, makes `--due` of them due now, then times one sweep in-process (the
same `sweep()` the scheduler runs) and a second, empty one. The point: the time should depend on
the number due, not on the backlog."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "ecoflow_bench_sweep"
URL = f"postgresql+psycopg://127.0.0.1:5432/{DATABASE}"

LOAD = """
INSERT INTO bureaus (code, name) VALUES ('BJ', '北京市生态环境局');
INSERT INTO units (id, bureau_code, code, name) VALUES (1, 'BJ', 'tongzhou', '通州分局');
INSERT INTO officers (id, username, name, password_hash, bureau_code, unit_id, is_active, created_at)
  VALUES (1, 'bj-officer', '李明', 'x', 'BJ', 1, true, now()),
         (2, 'bj-supervisor', '赵志强', 'x', 'BJ', 1, true, now()),
         (3, 'bj-leader', '陈静', 'x', 'BJ', NULL, true, now());
INSERT INTO role_grants (officer_id, role, bureau_code) VALUES (1, 'officer', 'BJ'), (2, 'supervisor', 'BJ'),
  (3, 'leader', 'BJ');
INSERT INTO complaints (id, case_no, bureau_code, channel, type, description, callback_consent, is_sensitive,
  address, state, grade, suggestion, is_on_ledger, unit_id, officer_id, reopen_count, received_at, created_at,
  updated_at, version, event_seq, event_hash)
SELECT g, 'BJ-BENCH-' || g, 'BJ', 'hotline_12345', 'complaint', '工厂夜间排放废气，异味很重', false, false,
  '北京市通州区某地' || (g % 5000), 'handling', 'general', '{}', false, 1, 1, 0,
  now() - interval '1 day', now(), now(), 1, 0, ''
FROM generate_series(1, :n) AS g;
INSERT INTO clocks (complaint_id, kind, period_amount, period_unit, started_at, due_at, paused_seconds,
  next_rung, next_rung_at)
SELECT g, 'reply', 7, 'natural_days', now() - interval '1 day', now() + interval '6 days', 0,
  'warning', now() + interval '30 days'
FROM generate_series(1, :n) AS g;
UPDATE clocks SET started_at = now() - interval '7 days', due_at = now() + interval '1 hour',
  next_rung_at = now() - interval '1 minute' WHERE complaint_id <= :due;
ANALYZE;
"""


def psql(database: str, sql: str):
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


def prepare(open_cases: int, due: int):
    psql("postgres", f"DROP DATABASE IF EXISTS {DATABASE}")
    psql("postgres", f"CREATE DATABASE {DATABASE}")
    env = {**os.environ, "DATABASE_URL": URL}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    sql = LOAD.replace(":n", str(open_cases)).replace(":due", str(due))
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-d", DATABASE, "-v", "ON_ERROR_STOP=1"], input=sql.encode(),
                   check=True)  # fmt: skip
    return time.perf_counter() - started


def measure(open_cases: int, due: int) -> dict:
    from ecoflow import create_app
    from ecoflow.escalation.jobs import sweep
    from ecoflow.extensions import db
    from ecoflow.timeutil import utcnow

    load_seconds = prepare(open_cases, due)
    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "SECRET_KEY": "bench"})
    with app.app_context():
        plan = db.session.execute(db.text(
            "EXPLAIN SELECT * FROM clocks WHERE next_rung_at <= now() ORDER BY next_rung_at, id LIMIT 200"
        )).scalars().all()  # fmt: skip
        now = utcnow()
        started, cpu = time.perf_counter(), time.process_time()
        fired = sweep(now)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        idle_started = time.perf_counter()
        again = sweep(now + timedelta(seconds=1))
        idle_seconds = time.perf_counter() - idle_started
        db.engine.dispose()
    return {
        "open_cases": open_cases, "due": due, "load_seconds": round(load_seconds, 1),
        "rungs_fired": len(fired), "sweep_seconds": round(seconds, 3), "sweep_cpu_seconds": round(cpu_seconds, 3),
        "rungs_per_second": round(len(fired) / seconds, 1), "second_sweep_fired": len(again),
        "empty_sweep_ms": round(idle_seconds * 1000, 2), "plan": plan,
    }  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    results = [measure(n, args.due) for n in args.open]
    header = ("open cases", "due", "fired", "sweep s", "CPU s", "rungs/s", "empty sweep ms")
    print("{:>12} {:>6} {:>6} {:>8} {:>6} {:>8} {:>15}".format(*header))
    for r in results:
        print(f"{r['open_cases']:>12,} {r['due']:>6} {r['rungs_fired']:>6} {r['sweep_seconds']:>8} "
              f"{r['sweep_cpu_seconds']:>6} {r['rungs_per_second']:>8} {r['empty_sweep_ms']:>15}")  # fmt: skip
    print("plan of the sweep's query at the largest backlog:", *results[-1]["plan"], sep="\n  ")
    out = ROOT / "bench/results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    psql("postgres", f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    main()
