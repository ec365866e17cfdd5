#!/usr/bin/env python3
"""Calibration: how fast is this machine against the one the issue measured on?

The issue's reference, on 2 cores with the load generator on the same machine: a naive Flask
endpoint that validates with marshmallow and inserts one row with Flask-SQLAlchemy ≈ 340 req/s
(2.3 ms CPU each), Flask's hello-world ≈ 2,200 req/s, PostgreSQL ≈ 2,200 five-statement
transactions/s. This measures the same three here, so that bench/lifecycle.py's figures can be
scaled to that machine:

    .venv/bin/python bench/reference.py                      # gunicorn -w 2 -k gthread --threads 1
    .venv/bin/python bench/reference.py --workers 2 --threads 4 --seconds 10 --clients 8
    .venv/bin/python bench/reference.py --only step                # the floor of an action alone

1. hello: GET /hello answering a small JSON dict;
2. insert: POST /people {name, email, age}, validated by a marshmallow Schema, one row inserted
   with Flask-SQLAlchemy and committed, 201 with the row's id;
3. pgbench: pgbench's TPC-B-like transaction (UPDATE, SELECT, UPDATE, UPDATE, INSERT, scale 1) from
   --clients psycopg connections, no web server; each transaction is one query of five statements.

And one figure the issue does not quote, the floor of an action on this stack:

4. step: POST /cases/<id>/step {version}, validated by marshmallow; the case read, updated under its
   version and one event appended, with SQLAlchemy Core statements, in one committed transaction;
   200 with the new version. Each client steps its own case. No token, no norm, no clocks, no
   assessment facts, no personal-data log: an EcoFlow action does all that besides, so seven steps
   (one lifecycle's requests) bound what a lifecycle can reach on this machine and stack.

The app (one file, written to a temporary directory) runs under gunicorn with the settings of
bench/lifecycle.py; load comes from --clients threads, each on one keep-alive connection, after
--warmup uncounted seconds. PostgreSQL at 127.0.0.1:5432: the database --pg-database
(ecoflow_bench_ref) is dropped and recreated. Prints per measurement the rate, CPU ms per request
of the gunicorn tree, PostgreSQL and this process, how busy the machine was, and the ratios to the
issue's figures (> 1: this machine is faster). Writes bench/results/reference-<time>.json.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import psycopg
from lifecycle import (
    BIN,
    PG_HOST,
    PG_PORT,
    PROTECTED_DATABASES,
    RESULTS,
    ROOT,
    Client,
    CpuWindow,
    Server,
    _cpu_model,
    background_load,
    free_port,
    server_env,
)

# The issue's figures: rate per second and, where quoted, server CPU ms per request.
ISSUE = {"hello": (2200, None), "insert": (340, 2.3), "pgbench": (2200, None)}
REQUESTS_PER_LIFECYCLE = 7  # intake and six actions, as in bench/lifecycle.py
MEASUREMENTS = ("hello", "insert", "step", "pgbench")

APP = """\
import os
import time

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, insert, select, update

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db = SQLAlchemy(app)


class Person(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False)
    email = db.Column(db.String(200), nullable=False)
    age = db.Column(db.Integer, nullable=False)


class PersonSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True)
    age = fields.Integer(required=True, validate=validate.Range(min=0, max=150))


person_schema = PersonSchema()


class Case(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    state = db.Column(db.String(20), nullable=False)
    version = db.Column(db.Integer, nullable=False)
    seq = db.Column(db.Integer, nullable=False)


class CaseEvent(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    case_id = db.Column(db.ForeignKey(Case.id), nullable=False, index=True)
    seq = db.Column(db.Integer, nullable=False)
    action = db.Column(db.String(30), nullable=False)
    occurred_at = db.Column(db.DateTime(timezone=True), nullable=False)
    data = db.Column(db.JSON, nullable=False)


class StepSchema(Schema):
    version = fields.Integer(required=True, strict=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


step_schema = StepSchema()
cases, case_events = Case.__table__, CaseEvent.__table__


@app.get("/hello")
def hello():
    return {"hello": "world"}


@app.post("/people")
def create_person():
    try:
        data = person_schema.load(request.get_json())
    except ValidationError as exc:
        return {"errors": exc.messages}, 422
    person = Person(**data)
    db.session.add(person)
    db.session.commit()
    return {"id": person.id}, 201


@app.post("/cases")
def create_case():
    case_id = db.session.execute(insert(cases).values(state="open", version=1, seq=0).returning(cases.c.id)).scalar()
    db.session.commit()
    # Busy for a moment, so that the other workers accept the connections opened meanwhile.
    busy_until = time.perf_counter() + 0.02
    while time.perf_counter() < busy_until:
        pass
    return {"id": case_id, "version": 1, "pid": os.getpid()}, 201


@app.post("/cases/<int:case_id>/step")
def step(case_id):
    try:
        data = step_schema.load(request.get_json())
    except ValidationError as exc:
        return {"errors": exc.messages}, 422
    case = db.session.execute(select(cases).where(cases.c.id == case_id)).one_or_none()
    if case is None:
        return {"error": "not_found"}, 404
    moved = db.session.execute(
        update(cases)
        .where(cases.c.id == case_id, cases.c.version == data["version"])
        .values(version=cases.c.version + 1, seq=cases.c.seq + 1)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return {"error": "stale_version"}, 409
    event = {"case_id": case_id, "seq": case.seq + 1, "action": "step", "occurred_at": func.now(), "data": data}
    db.session.execute(insert(case_events).values(event))
    db.session.commit()
    return {"id": case_id, "state": case.state, "version": case.version + 1}


if __name__ == "__main__":
    with app.app_context():
        db.create_all()
"""

# pgbench -i at scale 1 (without the filler columns) and pgbench's built-in tpcb-like script.
TELLERS, ACCOUNTS = 10, 100_000
PGBENCH_SCHEMA = f"""
CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL DEFAULT 0);
CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL DEFAULT 0);
CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL DEFAULT 0);
CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp);
INSERT INTO pgbench_branches (bid) VALUES (1);
INSERT INTO pgbench_tellers (tid, bid) SELECT t, 1 FROM generate_series(1, {TELLERS}) t;
INSERT INTO pgbench_accounts (aid, bid) SELECT a, 1 FROM generate_series(1, {ACCOUNTS}) a;
"""
TPCB = """
UPDATE pgbench_accounts SET abalance = abalance + {delta} WHERE aid = {aid};
SELECT abalance FROM pgbench_accounts WHERE aid = {aid};
UPDATE pgbench_tellers SET tbalance = tbalance + {delta} WHERE tid = {tid};
UPDATE pgbench_branches SET bbalance = bbalance + {delta} WHERE bid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({tid}, 1, {aid}, {delta}, CURRENT_TIMESTAMP);
"""


class RequestFailed(Exception):
    pass


def fresh_database(name: str, workdir: Path) -> str:
    """Drop and recreate `name`, create the app's table and pgbench's; the SQLAlchemy URL."""
    if name in PROTECTED_DATABASES or name.startswith("template"):
        raise SystemExit(f"refusing to drop database {name!r}")
    pg = ["-h", PG_HOST, "-p", str(PG_PORT)]
    subprocess.run(["dropdb", *pg, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *pg, name], check=True)
    url = f"postgresql+psycopg://{PG_HOST}:{PG_PORT}/{name}"
    subprocess.run([str(BIN / "python"), "wsgi.py"], cwd=workdir, env=server_env(url), check=True)
    with psycopg.connect(libpq_url(name), autocommit=True) as conn:
        conn.execute(PGBENCH_SCHEMA)
        conn.execute("VACUUM ANALYZE")
    return url


def libpq_url(database: str) -> str:
    return f"postgresql://{PG_HOST}:{PG_PORT}/{database}"


# --- one unit of work per call, on one connection ----------------------------------------------


def get_hello(client: Client):
    status, payload = client.call("GET", "/hello")
    if status != 200:
        raise RequestFailed(f"hello: {status} {payload[:200]!r}")


def post_person(client: Client):
    n = random.randrange(1_000_000)
    status, payload = client.call("POST", "/people", {"name": f"Person {n}", "email": f"p{n}@example.com", "age": 42})
    if status != 201 or "id" not in json.loads(payload):
        raise RequestFailed(f"insert: {status} {payload[:200]!r}")


class Stepper:
    """Steps one case of its own, sending the version of the last answer."""

    def __init__(self, client: Client):
        self.client = client
        status, payload = client.call("POST", "/cases", {})
        if status != 201:
            raise RequestFailed(f"case: {status} {payload[:200]!r}")
        answer = json.loads(payload)
        self.path, self.version, self.worker = f"/cases/{answer['id']}/step", 1, answer["pid"]

    def __call__(self):
        status, payload = self.client.call("POST", self.path, {"version": self.version, "note": "已电话联系"})
        if status != 200:
            raise RequestFailed(f"step: {status} {payload[:200]!r}")
        self.version = json.loads(payload)["version"]


def tpcb_transaction(conn: psycopg.Connection):
    """Five statements in one simple-protocol query, which PostgreSQL runs as one transaction. They
    are parsed each time, as with pgbench's default protocol; one round trip instead of seven keeps
    the Python client (one core, the GIL) from being what limits the rate."""
    aid, tid, delta = random.randint(1, ACCOUNTS), random.randint(1, TELLERS), random.randint(-5000, 5000)
    conn.execute(TPCB.format(aid=aid, tid=tid, delta=delta))


# --- load ---------------------------------------------------------------------------------------


def drive(units: list, seconds: float, server_pid: int | None, pg_database: str) -> dict:
    """Call each unit in a loop from its own thread for `seconds`; rate and CPU per completed call.
    Connections must outlive the window: a PostgreSQL backend that exits inside it loses its CPU."""
    deadline = time.monotonic() + seconds
    done = [0] * len(units)
    errors, lock = collections.Counter(), threading.Lock()

    def loop(i, unit):
        while time.monotonic() < deadline:
            try:
                unit()
                done[i] += 1
            except Exception as exc:  # counted and shown; the run goes on
                with lock:
                    errors[f"{type(exc).__name__}: {exc}"[:200]] += 1

    threads = [threading.Thread(target=loop, args=(i, unit), daemon=True) for i, unit in enumerate(units)]
    # Without a server (pgbench), tree_cpu(None) finds no process: server CPU is 0.
    with CpuWindow(server_pid, pg_database) as cpu:
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    completed, cores = sum(done), os.cpu_count() or 1
    per = max(completed, 1) / 1000
    result = {
        "seconds": round(elapsed, 3),
        "completed": completed,
        "per_second": completed / elapsed,
        "errors": sum(errors.values()),
        "error_samples": dict(errors.most_common(5)),
        **cpu.result,
        "server_cpu_ms": cpu.result["server_cpu_s"] / per,
        "pg_cpu_ms": (cpu.result["pg_backend_cpu_s"] + cpu.result["pg_shared_cpu_s"]) / per,
        "client_cpu_ms": cpu.result["client_cpu_s"] / per,
        "other_share": cpu.result["other_cpu_s"] / elapsed / cores,
    }
    own_ms = result["server_cpu_ms"] + result["pg_cpu_ms"] + result["client_cpu_ms"]
    # What this machine would do with every core to itself: steadier than the rate on a shared machine.
    result["cpu_bound_capacity"] = cores * 1000 / own_ms if completed else 0.0
    return result


def measure(name: str, units: list, args, server_pid: int | None) -> dict:
    print(f"{name}: warm-up {args.warmup:g}s, {args.seconds:g}s measured ...", flush=True)
    drive(units, args.warmup, server_pid, args.pg_database)
    result = drive(units, args.seconds, server_pid, args.pg_database)
    if name not in ISSUE:
        return result
    rate, cpu_ms = ISSUE[name]
    result["issue"] = {"per_second": rate, "server_cpu_ms": cpu_ms}
    result["ratio_rate"] = result["per_second"] / rate
    result["ratio_capacity"] = result["cpu_bound_capacity"] / rate
    result["ratio_server_cpu"] = cpu_ms / result["server_cpu_ms"] if cpu_ms and result["server_cpu_ms"] else None
    return result


def wait_ready(server: Server, port: int, seconds: float = 30):
    client, give_up = Client(port, timeout=5), time.monotonic() + seconds
    with contextlib.closing(client):
        while True:
            if server.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
            try:
                get_hello(client)
                return
            except (RequestFailed, OSError):
                if time.monotonic() > give_up:
                    raise SystemExit(f"gunicorn did not answer in {seconds}s:\n{server.log_tail()}") from None
                time.sleep(0.2)


def spread_steppers(stack: contextlib.ExitStack, port: int, args, attempts: int = 20) -> list[Stepper]:
    """--clients steppers whose keep-alive connections are spread evenly over the gunicorn workers.
    A worker keeps every connection it accepts, and an idle one accepts a burst of them alone, so
    the connections are opened all at once and opened again until no worker holds more than its share."""
    share = -(-args.clients // args.workers)
    for _ in range(attempts):
        clients = [Client(port, args.timeout) for _ in range(args.clients)]
        with ThreadPoolExecutor(len(clients)) as pool:
            steppers = list(pool.map(Stepper, clients))
        if max(collections.Counter(s.worker for s in steppers).values()) <= share:
            break
        for client in clients:
            client.close()
    for client in clients:
        stack.enter_context(contextlib.closing(client))
    return steppers


def web_measurements(args, url: str, workdir: Path) -> dict:
    port = free_port()
    server_args = argparse.Namespace(workers=args.workers, threads=args.threads, app_root=workdir)
    server = Server(server_args, url, port, workdir / "gunicorn.log")
    try:
        wait_ready(server, port)
        print(f"gunicorn pid {server.pid} on port {port}: {' '.join(server.command[1:])}", flush=True)
        results = {}
        for name, unit in (("hello", get_hello), ("insert", post_person), ("step", Stepper)):
            if name not in args.only:
                continue
            with contextlib.ExitStack() as stack:
                if unit is Stepper:
                    units = spread_steppers(stack, port, args)
                else:
                    clients = [
                        stack.enter_context(contextlib.closing(Client(port, args.timeout))) for _ in range(args.clients)
                    ]
                    units = [partial(unit, c) for c in clients]
                results[name] = measure(name, units, args, server.pid)
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn died during the run:\n{server.log_tail()}")
        return results
    finally:
        server.stop()


def pgbench_measurement(args) -> dict:
    with contextlib.ExitStack() as stack:
        conns = [
            stack.enter_context(psycopg.connect(libpq_url(args.pg_database), autocommit=True))
            for _ in range(args.clients)
        ]
        return measure("pgbench", [partial(tpcb_transaction, conn) for conn in conns], args, None)


# --- report -------------------------------------------------------------------------------------


def print_report(result: dict):
    config = result["config"]
    print()
    print(
        f"Reference benchmark: gunicorn -w {config['workers']} --threads {config['threads']}, "
        f"{config['clients']} clients, {result['machine']['cores']} cores ({result['machine']['cpu']})"
    )
    measured = [name for name in ISSUE if name in result]
    if measured:
        header = (
            f"{'measurement':<11} {'per s':>7} {'srv ms':>7} {'pg ms':>6} {'cli ms':>6} {'machine':>7} {'other':>6} "
            f"{'errors':>6} {'capacity':>8} {'× rate':>7} {'× capacity':>10} {'× srv CPU':>9}"
        )
        print(header)
        print("-" * len(header))
        for name in measured:
            m = result[name]
            cpu_ratio = f"{m['ratio_server_cpu']:.2f}" if m["ratio_server_cpu"] else "-"
            print(
                f"{name:<11} {m['per_second']:>7.0f} {m['server_cpu_ms']:>7.2f} {m['pg_cpu_ms']:>6.2f} "
                f"{m['client_cpu_ms']:>6.2f} {m['machine_utilisation'] * 100:>6.0f}% {m['other_share'] * 100:>5.0f}% "
                f"{m['errors']:>6} {m['cpu_bound_capacity']:>8.0f} {m['ratio_rate']:>7.2f} "
                f"{m['ratio_capacity']:>10.2f} {cpu_ratio:>9}"
            )
        print("(srv/pg/cli ms = CPU ms per request or transaction: gunicorn tree, PostgreSQL, this process;")
        print(" machine = all cores busy; other = CPU of unrelated processes; capacity = cores × 1000 / (srv+pg+cli);")
        print(" × = this machine against the issue's 2,200 / 340 (2.3 ms) / 2,200 per s: > 1 is faster)")
    step, n = result.get("step"), REQUESTS_PER_LIFECYCLE
    if step:
        print(
            f"step (the floor of an action: read, update under version, append an event): {step['per_second']:.0f}/s, "
            f"srv {step['server_cpu_ms']:.2f} + pg {step['pg_cpu_ms']:.2f} + cli {step['client_cpu_ms']:.2f} ms CPU; "
            f"{n} of them, a lifecycle's requests: {step['per_second'] / n:.1f}/s, "
            f"capacity {step['cpu_bound_capacity'] / n:.1f}/s"
        )
    for name in (name for name in MEASUREMENTS if name in result):
        for message, count in result[name]["error_samples"].items():
            print(f"{name} error ×{count}: {message}")
    print(f"results: {result['results_file']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of each measurement")
    parser.add_argument("--warmup", type=float, default=2, help="uncounted seconds before each measurement")
    parser.add_argument("--clients", type=int, default=8, help="client threads, one connection each")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--pg-database", default="ecoflow_bench_ref", help="dropped and recreated")
    parser.add_argument("--timeout", type=float, default=30, help="socket timeout per request, seconds")
    parser.add_argument(
        "--only", nargs="+", choices=MEASUREMENTS, default=MEASUREMENTS, help="measure these alone (default: all)"
    )
    args = parser.parse_args(argv)

    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ecoflow-reference-"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        idle = background_load()
        print(f"background CPU load before the run: {idle * 100:.0f}% of {os.cpu_count()} cores", flush=True)
        (workdir / "wsgi.py").write_text(APP)
        url = fresh_database(args.pg_database, workdir)
        result = {
            "started": stamp,
            "config": vars(args),
            "machine": {"cores": os.cpu_count(), "cpu": _cpu_model()},
            "background_load_before": idle,
            **web_measurements(args, url, workdir),
        }
        if "pgbench" in args.only:
            result["pgbench"] = pgbench_measurement(args)
        path = RESULTS / f"reference-{stamp}.json"
        result["results_file"] = str(path.relative_to(ROOT))
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print_report(result)
        return 1 if any(result[name]["errors"] for name in MEASUREMENTS if name in result) else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
