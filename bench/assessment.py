"""Assessment benchmark: the dashboard's queries and the monthly report over a million cases.

    .venv/bin/python bench/assessment.py --cases 1000000 --months 24 --repeat 5

Builds a fresh PostgreSQL database (ecoflow_assess_bench, dropped and recreated), loads the demo
bureaus, units and officers, adds 20 officers per unit, then generates on the database side (INSERT ...
SELECT generate_series) `--cases` closed and open cases spread over `--months` months, their categories
(multi-label, about the national shares) and their assessment facts (first contact, sign, reply, answer,
follow-up, reopening, whistle party, lead: about six per case). Then it times, in-process through the
Flask test client, each request the dashboard and the monthly report make, `--repeat` times, and prints
the median and the slowest. With `--hot-path N` it also times N complete lifecycles through the API with
and without the listener that keeps the facts, to show what keeping them costs an action."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "ecoflow_assess_bench"
URL = f"postgresql+psycopg://127.0.0.1:5432/{DATABASE}"

GENERATE = """
SELECT setseed(0.42);
INSERT INTO officers (username, name, password_hash, bureau_code, unit_id, is_active, created_at)
SELECT 'bench-' || u.id || '-' || k, '承办人' || u.id || '-' || k, 'x', u.bureau_code, u.id, true, now()
FROM units u, generate_series(1, 20) k WHERE u.code <> 'supervision';
INSERT INTO officers (username, name, password_hash, bureau_code, is_active, created_at)
VALUES ('bench-coordinator', '协调办', 'x', 'BJ', true, now());
INSERT INTO role_grants (officer_id, role, bureau_code)
SELECT id, 'coordinator', 'BJ' FROM officers WHERE username = 'bench-coordinator';

CREATE TEMP TABLE slots AS
SELECT (row_number() OVER (ORDER BY o.id) - 1)::int AS slot, o.id AS officer_id, u.id AS unit_id, u.bureau_code,
       u.district_code
FROM officers o JOIN units u ON u.id = o.unit_id WHERE o.username LIKE 'bench-%';

INSERT INTO complaints (id, case_no, bureau_code, channel, type, description, complainant_name, complainant_phone,
  callback_consent, is_sensitive, address, district_code, lat, lng, state, grade, suggestion, is_on_ledger, unit_id,
  officer_id, reopen_count, received_at, closed_at, created_at, updated_at, version, event_seq, event_hash)
SELECT 1000000 + x.g, s.bureau_code || '-B' || x.g, s.bureau_code,
  CASE WHEN x.r1 < 0.6 THEN 'hotline_12345' WHEN x.r1 < 0.8 THEN 'hotline_12369' WHEN x.r1 < 0.9 THEN 'online'
       WHEN x.r1 < 0.97 THEN 'letter' ELSE 'peer_transfer' END,
  'complaint', '工厂夜间排放废气，异味很重。', '张三', '13800000000', false, false,
  CASE s.bureau_code WHEN 'BJ' THEN '北京市' WHEN 'TJ' THEN '天津市' ELSE '河北省廊坊市' END
    || (ARRAY['通州区', '朝阳区', '武清区', '三河市'])[1 + x.g % 4] || '某路' || (x.g % 5000) || '号',
  s.district_code,
  CASE WHEN x.r2 < 0.3 THEN 39.8 + x.r3 * 0.3 END, CASE WHEN x.r2 < 0.3 THEN 116.6 + x.r4 * 0.5 END,
  CASE WHEN x.received < now() - interval '20 days' THEN 'closed' ELSE 'handling' END,
  'general', '{"categories": ["air"]}', false, s.unit_id, s.officer_id, 0, x.received,
  CASE WHEN x.received < now() - interval '20 days' THEN x.received + interval '5 days' END,
  x.received, x.received, 1, 0, ''
FROM (SELECT g, random() r1, random() r2, random() r3, random() r4,
             now() - (:months * interval '30 days') * (1 - g::float / :n) AS received
      FROM generate_series(1, :n) g) x
JOIN slots s ON s.slot = (x.g::bigint * 7919) % (SELECT count(*) FROM slots);

INSERT INTO complaint_categories (complaint_id, category)
SELECT id, c FROM (
  SELECT id, unnest(ARRAY[
    CASE WHEN random() < 0.51 THEN 'air' END, CASE WHEN random() < 0.38 THEN 'noise' END,
    CASE WHEN random() < 0.14 THEN 'water' END, CASE WHEN random() < 0.07 THEN 'solid_waste' END]) c
  FROM complaints WHERE id > 1000000) t
WHERE c IS NOT NULL;
INSERT INTO complaint_categories (complaint_id, category)
SELECT id, 'other' FROM complaints c WHERE id > 1000000
  AND NOT EXISTS (SELECT 1 FROM complaint_categories k WHERE k.complaint_id = c.id);

-- The categories as bits in the order of workflows/catalog.yaml (air, water, noise, solid_waste, ... other).
CREATE TEMP TABLE masks AS
SELECT complaint_id, sum(CASE category WHEN 'air' THEN 1 WHEN 'water' THEN 2 WHEN 'noise' THEN 4
                                       WHEN 'solid_waste' THEN 8 ELSE 128 END)::int AS bits
FROM complaint_categories GROUP BY complaint_id;

INSERT INTO assessment_facts (measure, source_id, complaint_id, counted_at, month, is_ok, level, seconds,
  bureau_code, unit_id, officer_id, district, channel, categories)
SELECT f.measure, c.id * 10 + f.k, c.id, f.at, to_char(f.at AT TIME ZONE 'Asia/Shanghai', 'YYYYMM')::int,
       f.ok, f.level, f.seconds, c.bureau_code, c.unit_id, c.officer_id,
       coalesce(c.district_code, substr(c.address, 1, 6)), c.channel, c.bits
FROM (SELECT c.*, m.bits, random() a, random() b, random() d, random() e, random() h
      FROM complaints c JOIN masks m ON m.complaint_id = c.id WHERE id > 1000000) c
CROSS JOIN LATERAL (VALUES
  (1, 'response', c.received_at + CASE WHEN c.a < 0.93 THEN c.b * interval '20 hours' ELSE interval '24 hours' END,
   c.a < 0.93, NULL, NULL),
  (2, 'sign', c.received_at + interval '1 hour', c.b < 0.97, NULL, NULL),
  (3, 'reply', c.received_at + CASE WHEN c.d < 0.9 THEN interval '4 days' ELSE interval '7 days' END,
   CASE WHEN c.received_at + interval '7 days' > now() THEN NULL ELSE c.d < 0.9 END, NULL, NULL),
  (4, 'answer', c.received_at + interval '4 days', true, NULL, NULL),
  (5, 'follow_up', c.received_at + interval '5 days', c.e < 0.85,
   CASE WHEN c.h < 0.7 THEN 'satisfied' WHEN c.h < 0.9 THEN 'basically_satisfied' ELSE 'unsatisfied' END, NULL),
  (6, 'reopen', c.received_at + interval '5 days', true, NULL, NULL),
  (7, 'whistle', c.received_at + interval '2 days', c.b < 0.9, NULL, (c.a * 7200)::int),
  (8, 'lead', c.received_at + c.h * interval '40 hours', c.h < 0.6, NULL, (c.h * 144000)::int)
) AS f(k, measure, at, ok, level, seconds)
WHERE CASE f.measure
  WHEN 'response' THEN c.channel <> 'peer_transfer'
  WHEN 'answer' THEN c.state = 'closed'
  WHEN 'follow_up' THEN c.state = 'closed' AND c.channel <> 'peer_transfer'
  WHEN 'reopen' THEN c.state = 'closed' AND c.e > 0.95
  WHEN 'whistle' THEN c.d < 0.03
  WHEN 'lead' THEN c.channel = 'peer_transfer'
  ELSE true END;
ANALYZE;
"""


def psql(database: str, sql: str, stdin: bool = False):
    command = ["psql", "-q", "-h", "127.0.0.1", "-d", database, "-v", "ON_ERROR_STOP=1"]
    if stdin:
        subprocess.run(command, input=sql.encode(), check=True)
    else:
        subprocess.run([*command, "-c", sql], check=True)


def prepare(cases: int, months: int) -> float:
    psql("postgres", f"DROP DATABASE IF EXISTS {DATABASE}")
    psql("postgres", f"CREATE DATABASE {DATABASE}")
    env = {**os.environ, "DATABASE_URL": URL, "SECRET_KEY": "bench"}
    for command in (["db", "upgrade"], ["ecoflow", "seed-demo"]):
        subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
    started = time.perf_counter()
    psql(DATABASE, GENERATE.replace(":n", str(cases)).replace(":months", str(months)), stdin=True)
    return time.perf_counter() - started


def requests(month: str, trend_from: str) -> list[tuple[str, str, str]]:
    """(name, who, path): what the dashboard and the monthly report ask for."""
    m = f"month={month}"
    return [
        ("one bureau, month total", "bj-leader", f"/api/v1/assessment?bureau=BJ&{m}"),
        ("three bureaus, by unit (ranking)", "bench-coordinator", f"/api/v1/assessment?{m}&group_by=unit"),
        ("three bureaus, by officer", "bench-coordinator", f"/api/v1/assessment?{m}&group_by=officer"),
        ("three bureaus, by category", "bench-coordinator", f"/api/v1/assessment?{m}&group_by=category"),
        ("three bureaus, by district", "bench-coordinator", f"/api/v1/assessment?{m}&group_by=district"),
        ("one bureau, by unit", "bj-leader", f"/api/v1/assessment?bureau=BJ&{m}&group_by=unit"),
        ("12-month trend, three bureaus", "bench-coordinator",
         f"/api/v1/assessment?from={trend_from}&to={month}&group_by=month"),
        ("12-month trend, one bureau, one category", "bj-leader",
         f"/api/v1/assessment?bureau=BJ&category=noise&from={trend_from}&to={month}&group_by=month"),
        ("cases behind a figure (page 1)", "bench-coordinator",
         f"/api/v1/assessment/cases?{m}&figure=response&part=missed"),
        ("hotspots", "bench-coordinator", "/api/v1/hotspots"),
        ("dashboard page", "bench-coordinator", f"/assessment/?{m}"),
        ("monthly report .xlsx, three bureaus", "bench-coordinator", f"/api/v1/assessment/report.xlsx?{m}"),
        ("monthly report .xlsx, one bureau", "bj-leader", f"/api/v1/assessment/report.xlsx?bureau=BJ&{m}"),
    ]  # fmt: skip


def measure(app, repeat: int) -> list[dict]:
    from sqlalchemy import func, select

    from ecoflow.assessment.facts import month_of
    from ecoflow.assessment.models import Fact
    from ecoflow.complaints.models import Complaint
    from ecoflow.extensions import db
    from ecoflow.officers.models import Officer
    from ecoflow.officers.services import issue_token
    from ecoflow.timeutil import utcnow

    with app.app_context():
        current = month_of(utcnow())
        last = current - 1 if current % 100 > 1 else current - 89  # the last full month
        month = f"{last // 100}-{last % 100:02d}"
        first = last - 100 + 1 if last % 100 < 12 else last - 11
        trend_from = f"{first // 100}-{first % 100:02d}"
        tokens = {o.username: issue_token(o)[0] for o in db.session.scalars(select(Officer))}
        counts = {"cases": db.session.scalar(select(func.count()).select_from(Complaint)),
                  "facts": db.session.scalar(select(func.count()).select_from(Fact)),
                  "facts_in_month": db.session.scalar(select(func.count()).where(Fact.month == last))}  # fmt: skip
    client = app.test_client()
    results = []
    for name, who, path in requests(month, trend_from):
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        times, cpu = [], []
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            if response.status_code == 404 and path.startswith("/assessment"):
                break  # no dashboard page in this tree
            assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
        results.append({"request": name, "path": path, "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1), "app_cpu_ms": round(statistics.median(cpu), 1),
                        "status": response.status_code, "bytes": len(response.data)})  # fmt: skip
    return [{"counts": counts, "month": month}, *results]


def hot_path(app, lifecycles: int) -> dict:
    """ms per complete lifecycle through the API, with and without the facts listener."""
    from sqlalchemy import event, select

    from ecoflow.assessment import facts
    from ecoflow.extensions import db
    from ecoflow.officers.models import Officer
    from ecoflow.officers.services import issue_token

    with app.app_context():
        tokens = {o.username: issue_token(o)[0] for o in db.session.scalars(select(Officer))}
    client = app.test_client()
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))

    def post(path, who, body):
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[who]}"})
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        return response.json

    def lifecycle(n):
        case = post("/api/v1/complaints", "bj-intake", {
            "channel": "hotline_12345", "type": "complaint", "description": "工厂夜间排放废气，异味很重。",
            "complainant": {"name": "张三", "phone": "13812345678"},
            "location": {"address": f"北京市通州区梨园镇某小区{n}号楼"}})  # fmt: skip
        steps = [("accept", "bj-intake", {}),
                 ("assign", "bj-dispatcher", {"unit": "tongzhou", "officer": "bj-officer", "grade": "general",
                                              "categories": ["air"]}),
                 ("sign", "bj-officer", {}), ("contact", "bj-officer", {"method": "电话"}),
                 ("reply", "bj-officer", {"result": "已处理", "text": "已处理"}),
                 ("follow_up", "bj-intake", {"resolved": True, "satisfaction": "satisfied"})]  # fmt: skip
        for action, who, fields in steps:
            case = post(f"/api/v1/complaints/{case['case_no']}/actions/{action}", who,
                        {"version": case["version"], **fields})  # fmt: skip

    for n in range(5):  # warm up both ways
        lifecycle(n)
    totals = {True: [0.0, 0.0, 0], False: [0.0, 0.0, 0]}  # wall s, CPU s, statements
    # Alternating blocks, so that both ways see the same caches and the same disturbance.
    for block in range(2 * max(1, lifecycles // 10)):
        listening = block % 2 == 0
        if not listening:
            event.remove(db.session, "after_flush", facts.keep_facts)
        statements.clear()
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(10):
            lifecycle(n)
        totals[listening][0] += time.perf_counter() - started
        totals[listening][1] += time.process_time() - cpu
        totals[listening][2] += len(statements)
        if not listening:
            event.listen(db.session, "after_flush", facts.keep_facts)
    count = 10 * max(1, lifecycles // 10)
    result = {}
    for listening, (wall, cpu, statement_count) in totals.items():
        result["with facts" if listening else "without facts"] = {
            "ms_per_lifecycle": round(wall * 1000 / count, 2),
            "app_cpu_ms_per_lifecycle": round(cpu * 1000 / count, 2),
            "statements_per_lifecycle": round(statement_count / count, 1),
        }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hot-path", type=int, default=0, metavar="N", help="also time N lifecycles")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left")
    args = parser.parse_args()

    from ecoflow import create_app

    if args.reuse:
        load_seconds = 0.0
        app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "SECRET_KEY": "bench"})
    else:
        load_seconds = prepare(args.cases, args.months)
        app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "SECRET_KEY": "bench"})
        recount(app)
    measured(app, args, load_seconds)


def recount(app):
    with app.app_context():
        from ecoflow.assessment.facts import refresh_counts
        from ecoflow.extensions import db

        started = time.perf_counter()
        refresh_counts(db.session.connection())  # the monthly counts of the generated facts, as a rebuild does
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        print(f"monthly counts recounted in {time.perf_counter() - started:.0f} s")


def measured(app, args, load_seconds):
    meta, *results = measure(app, args.repeat)
    print(f"{meta['counts']['cases']:,} cases, {meta['counts']['facts']:,} facts "
          f"({meta['counts']['facts_in_month']:,} in {meta['month']}), generated in {load_seconds:.0f} s")  # fmt: skip
    print(f"{'request':<45} {'median ms':>10} {'max ms':>8} {'app CPU ms':>11} {'bytes':>9}")
    for r in results:
        print(f"{r['request']:<45} {r['median_ms']:>10} {r['max_ms']:>8} {r['app_cpu_ms']:>11} {r['bytes']:>9}"
              + ("" if r["status"] == 200 else f"  (status {r['status']})"))  # fmt: skip
    hot = hot_path(app, args.hot_path) if args.hot_path else None
    if hot:
        for label, figures in hot.items():
            print(f"lifecycle {label}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    out = ROOT / "bench/results"
    out.mkdir(parents=True, exist_ok=True)
    report = {"load_seconds": round(load_seconds, 1), **meta, "requests": results, "hot_path": hot}
    (out / f"assessment-{args.cases}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    with app.app_context():
        from ecoflow.extensions import db

        db.engine.dispose()
    if not args.keep:
        psql("postgres", f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    main()
