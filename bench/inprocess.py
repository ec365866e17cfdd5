#!/usr/bin/env python3
"""Where the server's time goes: the same lifecycle as bench/lifecycle.py, run in-process through
the Flask test client (no HTTP, no gunicorn, one thread), counting SQL statements and CPU per
request type, optionally under a profiler.

    .venv/bin/python bench/inprocess.py --db postgres --lifecycles 200
    .venv/bin/python bench/inprocess.py --db postgres --lifecycles 200 --profile pyinstrument
    .venv/bin/python bench/inprocess.py --db sqlite --lifecycles 200 --profile cprofile

Prepares its own fresh database (PostgreSQL: ecoflow_bench_profile; never `test`). Writes
bench/results/inprocess-<db>-<time>.json and, with --profile, a profile report next to it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from lifecycle import INTAKE_BODY, PASSWORD, RESULTS, ROOT, SECRET_KEY, STEPS, USERS, prepare_database


def _cache_names() -> dict:
    from sqlalchemy.engine import default

    names = ("CACHE_HIT", "CACHE_MISS", "CACHING_DISABLED", "NO_CACHE_KEY", "NO_DIALECT_SUPPORT")
    return {getattr(default, n): n.lower() for n in names if hasattr(default, n)}


_CACHE_NAMES: dict = {}


class Breakdown:
    """Inclusive CPU time of chosen application functions, by request type (monkeypatched in this
    process only; the code under test is not changed). Nested labels overlap."""

    def __init__(self, recorder):
        self.recorder = recorder
        self.cpu = defaultdict(lambda: defaultdict(float))

    def wrap(self, owner, attr, label):
        original = getattr(owner, attr)
        cpu, recorder = self.cpu, self.recorder

        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                if recorder.kind:
                    cpu[recorder.kind][label] += time.process_time() - started

        setattr(owner, attr, timed)

    def install(self):
        from sqlalchemy.orm import Session

        from ecoflow.casework import engine
        from ecoflow.complaints import api, intake, queries, schemas
        from ecoflow.officers import auth

        self.wrap(auth, "officer_for_token", "auth: token + officer load")
        self.wrap(api, "load", "request validation (marshmallow load)")
        self.wrap(intake, "register_complaint", "intake.register_complaint")
        self.wrap(queries, "get_complaint", "queries.get_complaint")
        self.wrap(engine, "perform_action", "engine.perform_action")
        self.wrap(api, "_dump", "api._dump (personal-data log + schema dump)")
        self.wrap(schemas.complaint_schema, "dump", "complaint_schema.dump")
        self.wrap(Session, "flush", "Session.flush (any)")
        self.wrap(Session, "commit", "Session.commit")

    def per_request(self, requests) -> dict:
        return {kind: {label: round(v * 1000 / requests[kind], 3) for label, v in labels.items()}
                for kind, labels in self.cpu.items()}  # fmt: skip


class Recorder:
    """Counts the SQL statements and commits of the request being made, by request type."""

    def __init__(self):
        self.kind = None
        self.statements = defaultdict(int)
        self.commits = defaultdict(int)
        self.requests = defaultdict(int)
        self.cache = defaultdict(Counter)  # request type -> SQLAlchemy compiled-cache outcome counts
        self.samples = {}  # request type -> the statements of its first occurrence
        self._current = []

    def on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if self.kind:
            self.statements[self.kind] += 1
            self._current.append(" ".join(statement.split())[:240])

    def on_after_execute(self, conn, cursor, statement, parameters, context, executemany):
        if self.kind:
            self.cache[self.kind][_CACHE_NAMES.get(getattr(context, "cache_hit", None), "unknown")] += 1

    def on_commit(self, conn):
        if self.kind:
            self.commits[self.kind] += 1

    def begin(self, kind):
        self.kind, self._current = kind, []

    def end(self):
        self.requests[self.kind] += 1
        self.samples.setdefault(self.kind, self._current)
        self.kind = None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20, help="lifecycles before measuring")
    parser.add_argument(
        "--profile",
        choices=("none", "cprofile", "cprofile-wall", "pyinstrument"),
        default="none",
        help="cprofile counts CPU time (time.process_time); cprofile-wall and pyinstrument count wall time",
    )
    parser.add_argument("--breakdown", action="store_true", help="CPU ms per request in chosen app functions")
    parser.add_argument("--pg-database", default="ecoflow_bench_profile")
    parser.add_argument("--app-root", type=Path, default=ROOT, help="the EcoFlow tree to load (default: this checkout)")
    args = parser.parse_args(argv)

    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ecoflow-inproc-"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"inprocess-{args.db}-{stamp}"
    try:
        app_root = args.app_root.resolve()
        url = prepare_database(args.db, args.pg_database, workdir, app_root)
        sys.path.insert(0, str(app_root))
        from sqlalchemy import event

        from ecoflow import create_app
        from ecoflow.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
        recorder = Recorder()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", recorder.on_execute)
        event.listen(engine, "after_cursor_execute", recorder.on_after_execute)
        event.listen(engine, "commit", recorder.on_commit)
        _CACHE_NAMES.update(_cache_names())
        client = app.test_client()
        tokens = {}
        for user in USERS:
            response = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
            assert response.status_code == 200, response.json
            tokens[user] = {"Authorization": f"Bearer {response.json['token']}"}

        cpu = defaultdict(float)
        counter = [0]

        def post(kind, path, body, user, expect):
            recorder.begin(kind)
            started = time.process_time()
            response = client.post(path, json=body, headers=tokens[user])
            cpu[kind] += time.process_time() - started
            recorder.end()
            assert response.status_code == expect, (kind, response.status_code, response.json)
            return response.json

        def lifecycle():
            counter[0] += 1
            body = {**INTAKE_BODY, "location": {"address": f"北京市通州区梨园镇某小区{counter[0]}号楼"}}
            complaint = post("intake", "/api/v1/complaints", body, "bj-intake", 201)
            for action, user, fields, state in STEPS:
                complaint = post(
                    action,
                    f"/api/v1/complaints/{complaint['case_no']}/actions/{action}",
                    {**fields, "version": complaint["version"]},
                    user,
                    200,
                )
                assert complaint["state"] == state, (action, complaint["state"])

        breakdown = Breakdown(recorder)
        if args.breakdown:
            breakdown.install()
        for _ in range(args.warmup):
            lifecycle()
        cpu.clear()
        recorder.__init__()
        breakdown.cpu.clear()

        profiler = None
        if args.profile.startswith("cprofile"):
            profiler = cProfile.Profile(time.perf_counter if args.profile == "cprofile-wall" else time.process_time)
            profiler.enable()
        elif args.profile == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        wall, started = time.perf_counter(), time.process_time()
        for _ in range(args.lifecycles):
            lifecycle()
        total_cpu, wall = time.process_time() - started, time.perf_counter() - wall
        report_path = None
        if args.profile.startswith("cprofile"):
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).strip_dirs()
            out.write("=== by cumulative time ===\n")
            stats.sort_stats("cumulative").print_stats(60)
            out.write("\n=== by own time ===\n")
            stats.sort_stats("tottime").print_stats(60)
            out.write("\n=== callers of the costliest functions ===\n")
            stats.sort_stats("tottime").print_callers(15)
            report_path = RESULTS / f"{name}.{args.profile}.txt"
            report_path.write_text(out.getvalue())
            profiler.dump_stats(str(RESULTS / f"{name}.pstats"))
        elif args.profile == "pyinstrument":
            profiler.stop()
            report_path = RESULTS / f"{name}.pyinstrument.txt"
            report_path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
            (RESULTS / f"{name}.pyinstrument.html").write_text(profiler.output_html())

        n = args.lifecycles
        kinds = ["intake"] + [step[0] for step in STEPS]
        per_kind = {
            kind: {
                "sql_statements": recorder.statements[kind] / recorder.requests[kind],
                "commits": recorder.commits[kind] / recorder.requests[kind],
                "sql_cache": {k: v / recorder.requests[kind] for k, v in recorder.cache[kind].items()},
                "cpu_ms": cpu[kind] * 1000 / recorder.requests[kind],
            }
            for kind in kinds
        }
        result = {
            "name": name,
            "db": args.db,
            "lifecycles": n,
            "profile": args.profile,
            "app_root": str(app_root),
            "cpu_ms_per_lifecycle": total_cpu * 1000 / n,
            "wall_ms_per_lifecycle": wall * 1000 / n,
            "sql_statements_per_lifecycle": sum(recorder.statements.values()) / n,
            "per_request": per_kind,
            "breakdown_cpu_ms": breakdown.per_request(recorder.requests) if args.breakdown else None,
            "statement_samples": recorder.samples,
            "statement_shapes": _shapes(recorder.samples),
            "profile_report": str(report_path.relative_to(ROOT)) if report_path else None,
        }
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

        print(f"in-process, {args.db}, {n} lifecycles, profile={args.profile}")
        print(f"{'request':<10} {'SQL stmts':>9} {'commits':>7} {'CPU ms':>7}  SQLAlchemy compiled cache")
        for kind, row in per_kind.items():
            cache = ", ".join(f"{k} {v:.1f}" for k, v in sorted(row["sql_cache"].items()))
            print(f"{kind:<10} {row['sql_statements']:>9.1f} {row['commits']:>7.1f} {row['cpu_ms']:>7.2f}  {cache}")
        print(
            f"per lifecycle: {result['sql_statements_per_lifecycle']:.1f} statements, "
            f"{result['cpu_ms_per_lifecycle']:.1f} ms CPU, {result['wall_ms_per_lifecycle']:.1f} ms wall"
        )
        if args.breakdown:
            print("CPU ms per request inside app functions (inclusive; nested ones overlap):")
            for kind, labels in result["breakdown_cpu_ms"].items():
                print(
                    f"  {kind:<10} total {per_kind[kind]['cpu_ms']:.2f}: "
                    + ", ".join(f"{label} {ms:.2f}" for label, ms in labels.items())
                )
        print(f"results: {path.relative_to(ROOT)}" + (f", profile: {result['profile_report']}" if report_path else ""))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _shapes(samples: dict) -> dict:
    """Per request type, each statement's first words and how often it ran."""
    shapes = {}
    for kind, statements in samples.items():
        counts = Counter(s[:110] for s in statements)
        shapes[kind] = [f"{count}x {shape}" for shape, count in counts.items()]
    return shapes


if __name__ == "__main__":
    main()
