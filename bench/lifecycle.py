#!/usr/bin/env python3
"""Throughput benchmark: full complaint lifecycles (intake → closed) through the HTTP API under
gunicorn, on PostgreSQL or SQLite, with the load generator on the same machine.

    .venv/bin/python bench/lifecycle.py --db postgres --seconds 20 --clients 8 --workers 3 --threads 2

Phases (each bounded in time): warm-up (lifecycles, not counted), lifecycles, intake only.
Measures lifecycles/s, intake requests/s, server CPU (gunicorn master + workers, from /proc) per
lifecycle and per intake, PostgreSQL backend CPU, the load generator's own CPU and latencies.
Writes bench/results/<db>-w<W>t<T>c<C>-<time>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")

PG_HOST, PG_PORT = "127.0.0.1", 5432
PROTECTED_DATABASES = {"test", "postgres", "root", "template0", "template1"}
SECRET_KEY = "bench-secret-key-not-for-production"
PASSWORD = "ecoflow-demo"
USERS = ("bj-intake", "bj-dispatcher", "bj-officer", "bj-supervisor")

INTAKE_BODY = {
    "channel": "hotline_12345",
    "type": "complaint",
    "description": "工厂夜间排放废气，异味很重",
    "complainant": {"name": "张三", "phone": "13812345678"},
    "location": {"address": "北京市通州区梨园镇某小区"},
}

# (action, who, fields, state expected afterwards)
STEPS = (
    ("accept", "bj-intake", {}, "accepted"),
    ("assign", "bj-dispatcher",
     {"unit": "tongzhou", "officer": "bj-officer", "grade": "general", "categories": ["air"]}, "assigned"),
    ("sign", "bj-officer", {}, "handling"),
    ("contact", "bj-officer", {"method": "phone", "note": "已电话联系诉求人，约定现场核查时间。"}, "handling"),
    ("reply", "bj-officer",
     {"result": "已查实并责令整改", "text": "经现场核查，问题属实，已责令企业立即整改，我局将持续跟踪。"}, "replied"),
    ("follow_up", "bj-intake", {"resolved": True, "satisfaction": "satisfied"}, "closed"),
)  # fmt: skip
REQUEST_KINDS = ("intake", *(step[0] for step in STEPS))


# --- CPU accounting from /proc ------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(ppid, user+sys CPU seconds) of a live process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _all_pids():
    return (int(name) for name in os.listdir("/proc") if name.isdigit())


def tree_cpu(root_pid: int) -> dict[int, float]:
    """CPU seconds of `root_pid` and every descendant, by pid."""
    stats = {}
    for pid in _all_pids():
        stat = _proc_stat(pid)
        if stat:
            stats[pid] = stat
    members, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return {pid: stats[pid][1] for pid in members if pid in stats}


def postgres_cpu(database: str) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds of the PostgreSQL backends serving `database`, and of the server's shared
    processes (walwriter, checkpointer, ...), by pid."""
    backends, shared = {}, {}
    for pid in _all_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if not cmdline.startswith("postgres:"):
            continue
        stat = _proc_stat(pid)
        if stat is None:
            continue
        words = cmdline.split()
        # "postgres: 15/main: root ecoflow_bench 127.0.0.1(40412) idle"
        if len(words) >= 4 and words[3] == database:
            backends[pid] = stat[1]
        elif len(words) >= 3 and words[2] in ("checkpointer", "background", "walwriter", "autovacuum"):
            shared[pid] = stat[1]
    return backends, shared


def system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is counted in user already
    return (total - idle) / CLK_TCK, total / CLK_TCK


def background_load(seconds: float = 2.0) -> float:
    """Share of the machine's CPU busy while this benchmark does nothing."""
    busy0, total0 = system_cpu()
    time.sleep(seconds)
    busy1, total1 = system_cpu()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two snapshots; a process that appeared in between counts from zero."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class CpuWindow:
    """CPU used by the server, the database, this process and the machine over one phase."""

    def __init__(self, server_pid: int, pg_database: str | None):
        self.server_pid, self.pg_database = server_pid, pg_database

    def _snapshot(self):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "server": tree_cpu(self.server_pid),
            "pg": postgres_cpu(self.pg_database) if self.pg_database else ({}, {}),
            "client": usage.ru_utime + usage.ru_stime,
            "system": system_cpu(),
        }

    def __enter__(self):
        self.start = self._snapshot()
        return self

    def __exit__(self, *exc):
        self.end = self._snapshot()
        busy = self.end["system"][0] - self.start["system"][0]
        total = self.end["system"][1] - self.start["system"][1]
        by_process = [cpu - self.start["server"].get(pid, 0.0) for pid, cpu in self.end["server"].items()]
        self.result = {
            "server_cpu_s": _delta(self.start["server"], self.end["server"]),
            "server_processes": len(self.end["server"]),
            # Keep-alive connections stay with the worker that accepted them: near 1 when one worker
            # served (nearly) all of them and the others idled.
            "server_busiest_share": max(by_process) / sum(by_process) if sum(by_process) > 0 else 0.0,
            "pg_backend_cpu_s": _delta(self.start["pg"][0], self.end["pg"][0]),
            "pg_shared_cpu_s": _delta(self.start["pg"][1], self.end["pg"][1]),
            "client_cpu_s": self.end["client"] - self.start["client"],
            "machine_busy_cpu_s": busy,
            # CPU used by anything else on the machine meanwhile (other jobs skew the figures)
            "other_cpu_s": busy
            - _delta(self.start["server"], self.end["server"])
            - _delta(self.start["pg"][0], self.end["pg"][0])
            - _delta(self.start["pg"][1], self.end["pg"][1])
            - (self.end["client"] - self.start["client"]),
            "machine_utilisation": busy / total if total else 0.0,
        }


# --- HTTP client --------------------------------------------------------------------------------


class RequestFailed(Exception):
    def __init__(self, kind: str, status, body: str):
        super().__init__(f"{kind}: {status} {body[:300]}")
        self.kind, self.status, self.body = kind, status, body


class Client:
    """One persistent (keep-alive) HTTP/1.1 connection, JSON in and out."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.conn = None
        self.connects = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method: str, path: str, body=None, token=None) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.connects += 1
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # a non-idempotent POST is never retried: it counts as an error
            raise
        if response.will_close:
            self.close()
        return response.status, payload

    def json(self, kind: str, method: str, path: str, expect: int, body=None, token=None) -> dict:
        try:
            status, payload = self.call(method, path, body, token)
        except (OSError, http.client.HTTPException) as exc:
            raise RequestFailed(kind, type(exc).__name__, str(exc)) from None
        if status != expect:
            raise RequestFailed(kind, status, payload.decode(errors="replace"))
        return json.loads(payload)


def login(port: int, timeout: float) -> dict[str, str]:
    client = Client(port, timeout)
    try:
        return {
            user: client.json("login", "POST", "/api/v1/auth/token", 200, {"username": user, "password": PASSWORD})[
                "token"
            ]
            for user in USERS
        }
    finally:
        client.close()


# --- load ---------------------------------------------------------------------------------------


class Counter:
    """A thread-safe sequence, for distinct addresses."""

    def __init__(self):
        self._lock, self._value = threading.Lock(), 0

    def next(self) -> int:
        with self._lock:
            self._value += 1
            return self._value


class Worker(threading.Thread):
    """One simulated client: runs lifecycles (or intakes) on one keep-alive connection until the
    deadline; a request never outlives the socket timeout, the thread never outlives `hard_stop`."""

    def __init__(self, mode, port, tokens, deadline, hard_stop, timeout, addresses: Counter, same_address):
        super().__init__(daemon=True)
        self.mode, self.tokens, self.deadline, self.hard_stop = mode, tokens, deadline, hard_stop
        self.client = Client(port, timeout)
        self.addresses, self.same_address = addresses, same_address
        self.completed = 0
        self.requests = dict.fromkeys(REQUEST_KINDS, 0)
        self.latencies = {kind: [] for kind in REQUEST_KINDS}
        self.errors = []
        self.lifecycle_seconds = []

    def _timed(self, kind, path, expect, body, user):
        started = time.perf_counter()
        data = self.client.json(kind, "POST", path, expect, body, self.tokens[user])
        self.latencies[kind].append(time.perf_counter() - started)
        self.requests[kind] += 1
        return data

    def _intake(self):
        body = INTAKE_BODY
        if not self.same_address:
            body = {**INTAKE_BODY, "location": {"address": f"北京市通州区梨园镇某小区{self.addresses.next()}号楼"}}
        complaint = self._timed("intake", "/api/v1/complaints", 201, body, "bj-intake")
        if complaint.get("state") != "received":
            raise RequestFailed("intake", 201, f"state {complaint.get('state')!r}, expected 'received'")
        return complaint

    def _lifecycle(self):
        started = time.perf_counter()
        complaint = self._intake()
        case_no = complaint["case_no"]
        for action, user, fields, expected_state in STEPS:
            if time.monotonic() > self.hard_stop:
                raise RequestFailed(action, "aborted", "hard stop reached mid-lifecycle")
            body = {**fields, "version": complaint["version"]}
            complaint = self._timed(action, f"/api/v1/complaints/{case_no}/actions/{action}", 200, body, user)
            if complaint.get("state") != expected_state:
                raise RequestFailed(action, 200, f"state {complaint.get('state')!r}, expected {expected_state!r}")
        self.lifecycle_seconds.append(time.perf_counter() - started)

    def run(self):
        work = self._lifecycle if self.mode == "lifecycle" else self._intake
        try:
            while time.monotonic() < self.deadline:
                try:
                    work()
                    self.completed += 1
                except RequestFailed as exc:
                    self.errors.append({"kind": exc.kind, "status": exc.status, "body": exc.body[:300]})
                except Exception as exc:  # a bug in the client must show, not hang
                    self.errors.append({"kind": "client", "status": type(exc).__name__, "body": str(exc)[:300]})
                    self.client.close()
        finally:
            self.client.close()


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    values = sorted(values)

    def at(q):
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 2)

    return {"n": len(values), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": at(1.0)}


def run_phase(mode, seconds, args, port, tokens, server_pid, pg_database, addresses) -> dict:
    """Drive `mode` ("lifecycle" or "intake") from args.clients threads for `seconds`."""
    grace = args.timeout * 2 + 5
    start = time.monotonic()
    deadline = start + seconds
    workers = [
        Worker(mode, port, tokens, deadline, deadline + grace, args.timeout, addresses, args.same_address)
        for _ in range(args.clients)
    ]
    with CpuWindow(server_pid, pg_database) as cpu:
        wall_start = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=max(0.0, deadline + grace + 5 - time.monotonic()))
        elapsed = time.monotonic() - wall_start
    stuck = sum(worker.is_alive() for worker in workers)
    completed = sum(w.completed for w in workers)
    requests = {kind: sum(w.requests[kind] for w in workers) for kind in REQUEST_KINDS}
    errors = [e for w in workers for e in w.errors]
    result = {
        "mode": mode,
        "seconds": round(elapsed, 3),
        "clients": args.clients,
        "completed": completed,
        "per_second": completed / elapsed,
        "requests": requests,
        "requests_total": sum(requests.values()),
        "requests_per_second": sum(requests.values()) / elapsed,
        "errors": len(errors),
        "error_samples": errors[:20],
        "error_kinds": _count(f"{e['kind']} {e['status']}" for e in errors),
        "stuck_threads": stuck,
        "connections_opened": sum(w.client.connects for w in workers),
        "latency": {k: _percentiles([x for w in workers for x in w.latencies[k]]) for k in REQUEST_KINDS},
        "lifecycle_latency": _percentiles([x for w in workers for x in w.lifecycle_seconds]),
        **cpu.result,
    }
    per = max(completed, 1)
    result["server_cpu_ms_per_unit"] = cpu.result["server_cpu_s"] * 1000 / per
    result["pg_cpu_ms_per_unit"] = (cpu.result["pg_backend_cpu_s"] + cpu.result["pg_shared_cpu_s"]) * 1000 / per
    result["client_cpu_ms_per_unit"] = cpu.result["client_cpu_s"] * 1000 / per
    result["server_cpu_ms_per_request"] = cpu.result["server_cpu_s"] * 1000 / max(result["requests_total"], 1)
    # What the machine could do if this work had every core to itself (server + database + client CPU).
    own_ms = result["server_cpu_ms_per_unit"] + result["pg_cpu_ms_per_unit"] + result["client_cpu_ms_per_unit"]
    result["cpu_bound_capacity_per_second"] = (os.cpu_count() or 1) * 1000 / own_ms if completed else 0.0
    return result


def _count(items) -> dict:
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


# --- database and server ------------------------------------------------------------------------


def prepare_database(db: str, pg_database: str, workdir: Path, app_root: Path = ROOT) -> str:
    """A fresh, migrated database with the demo data (migrations and demo of `app_root`); its URL."""
    if db == "postgres":
        if pg_database in PROTECTED_DATABASES:
            raise SystemExit(f"refusing to drop database {pg_database!r}")
        pg = ["-h", PG_HOST, "-p", str(PG_PORT)]
        subprocess.run(["dropdb", *pg, "--if-exists", "--force", pg_database], check=True)
        subprocess.run(["createdb", *pg, pg_database], check=True)
        url = f"postgresql+psycopg://{PG_HOST}:{PG_PORT}/{pg_database}"
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite'}"
    env = server_env(url)
    for command in (["db", "upgrade"], ["ecoflow", "seed-demo"]):
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *command], cwd=app_root, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise SystemExit(f"flask {' '.join(command)} failed in {app_root}:\n{tail}")
    return url


def server_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
    env.setdefault("ECOFLOW_SCHEDULER", "0")  # the API alone; the escalation sweep is not measured
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn as a child in its own process group; stop() always takes the whole group down."""

    def __init__(self, args, url: str, port: int, log_path: Path):
        self.log_path = log_path
        self.command = [
            str(BIN / "gunicorn"), "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
            "-b", f"127.0.0.1:{port}", "--keep-alive", "30", "--timeout", "60", "--graceful-timeout", "5",
            "--log-level", "warning", "--chdir", str(args.app_root), "wsgi:app",
        ]  # fmt: skip
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, cwd=args.app_root, env=server_env(url), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.pid = self.process.pid

    def wait_ready(self, port: int, timeout: float, seconds: float = 60) -> dict[str, str]:
        """Log the demo officers in once the server answers; their tokens."""
        give_up = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                return login(port, timeout)
            except (RequestFailed, OSError) as exc:
                if time.monotonic() > give_up:
                    raise SystemExit(f"gunicorn did not answer in {seconds}s ({exc}):\n{self.log_tail()}") from None
                time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)  # whatever of its group is left (the group is ours)
        if self.process.poll() is None:
            self.process.wait(timeout=5)
        self.log.close()


def closed_total(port, token, timeout) -> int:
    client = Client(port, timeout)
    try:
        status, payload = client.call("GET", "/api/v1/complaints?state=closed&per_page=1", token=token)
        if status != 200:
            raise RequestFailed("list", status, payload.decode(errors="replace"))
        return json.loads(payload)["total"]
    finally:
        client.close()


# --- report -------------------------------------------------------------------------------------


def print_report(result: dict):
    config = result["config"]
    print()
    print(
        f"EcoFlow lifecycle benchmark: db={config['db']} workers={config['workers']} threads={config['threads']} "
        f"clients={config['clients']} cores={result['machine']['cores']}"
    )
    header = f"{'phase':<10} {'s':>6} {'done':>6} {'per s':>8} {'req/s':>7} {'srv ms':>7} {'pg ms':>6} " \
             f"{'cli ms':>7} {'srv ms/req':>10} {'machine':>7} {'other':>6} {'errors':>6}"  # fmt: skip
    print(header)
    print("-" * len(header))
    for phase in (result["lifecycle"], result["intake"]):
        print(
            f"{phase['mode']:<10} {phase['seconds']:>6.1f} {phase['completed']:>6} {phase['per_second']:>8.1f} "
            f"{phase['requests_per_second']:>7.1f} {phase['server_cpu_ms_per_unit']:>7.1f} "
            f"{phase['pg_cpu_ms_per_unit']:>6.1f} {phase['client_cpu_ms_per_unit']:>7.1f} "
            f"{phase['server_cpu_ms_per_request']:>10.2f} {phase['machine_utilisation'] * 100:>6.0f}% "
            f"{phase['other_cpu_s'] / phase['seconds'] / os.cpu_count() * 100:>5.0f}% {phase['errors']:>6}"
        )
    print("(srv/pg/cli ms = CPU ms per lifecycle or per intake: gunicorn tree, PostgreSQL, load generator;")
    print(" machine = all cores busy; other = CPU of unrelated processes in the window)")
    print(
        "CPU-bound capacity if nothing else ran (cores / (srv + pg + cli ms)): "
        f"{result['lifecycle']['cpu_bound_capacity_per_second']:.1f} lifecycles/s, "
        f"{result['intake']['cpu_bound_capacity_per_second']:.1f} intakes/s"
    )
    lat = result["lifecycle"]["latency"]
    print("latency p50/p99 ms: " + ", ".join(f"{k} {v['p50_ms']}/{v['p99_ms']}" for k, v in lat.items() if v))
    if result["lifecycle"]["lifecycle_latency"]:
        life = result["lifecycle"]["lifecycle_latency"]
        print(f"lifecycle p50/p99 ms: {life['p50_ms']}/{life['p99_ms']}")
    if result.get("closed_check"):
        check = result["closed_check"]
        print(f"closed cases in the database: +{check['delta']} (lifecycles completed: {check['expected']})")
    for phase in (result["lifecycle"], result["intake"]):
        if phase["errors"]:
            print(f"{phase['mode']} errors: {phase['error_kinds']}")
            for sample in phase["error_samples"][:3]:
                print(f"  {sample}")
    target = config.get("target")
    if target:
        verdict = "meets" if result["lifecycle"]["per_second"] >= target else "BELOW"
        print(f"target {target} lifecycles/s: {verdict}")
    print(f"results: {result['results_file']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--seconds", type=float, default=20, help="length of the lifecycle phase")
    parser.add_argument("--intake-seconds", type=float, help="length of the intake phase (default: --seconds)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of uncounted lifecycles first")
    parser.add_argument("--clients", type=int, default=8, help="client threads, one connection each")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--port", type=int, help="default: a free port")
    parser.add_argument("--pg-database", default="ecoflow_bench", help="dropped and recreated; never 'test'")
    parser.add_argument("--timeout", type=float, default=30, help="socket timeout per request, seconds")
    parser.add_argument(
        "--same-address",
        action="store_true",
        help="every complaint at one address (the repeat-count query then grows with the data)",
    )
    parser.add_argument("--target", type=float, default=50, help="lifecycles/s to compare against (0: none)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        help="wait up to this many seconds for other processes' CPU load to drop below 10%%",
    )
    parser.add_argument("--tag", default="", help="added to the results file name")
    parser.add_argument(
        "--app-root",
        type=Path,
        default=ROOT,
        help="the EcoFlow tree to serve (default: this checkout); e.g. an export of one commit",
    )
    args = parser.parse_args(argv)
    intake_seconds = args.intake_seconds if args.intake_seconds is not None else args.seconds

    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ecoflow-bench-"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{args.db}-w{args.workers}t{args.threads}c{args.clients}{'-' + args.tag if args.tag else ''}-{stamp}"
    server = None

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        idle = background_load()
        give_up = time.monotonic() + args.wait_idle
        while idle > 0.10 and time.monotonic() < give_up:
            print(f"waiting for the machine to go idle ({idle * 100:.0f}% busy) ...", flush=True)
            idle = background_load(5.0)
        print(f"background CPU load before the run: {idle * 100:.0f}% of {os.cpu_count()} cores", flush=True)
        if idle > 0.10:
            print("WARNING: the machine is not idle; other processes will skew the figures", flush=True)
        print(f"preparing {args.db} database ...", flush=True)
        args.app_root = args.app_root.resolve()
        url = prepare_database(args.db, args.pg_database, workdir, args.app_root)
        port = args.port or free_port()
        server = Server(args, url, port, workdir / "gunicorn.log")
        tokens = server.wait_ready(port, args.timeout)
        print(f"gunicorn pid {server.pid} on port {port}: {' '.join(server.command[1:])}", flush=True)
        pg_database = args.pg_database if args.db == "postgres" else None
        addresses = Counter()
        closed_before = closed_total(port, tokens["bj-supervisor"], args.timeout)

        warmup = None
        if args.warmup > 0:
            print(f"warm-up {args.warmup:g}s ...", flush=True)
            warmup = run_phase("lifecycle", args.warmup, args, port, tokens, server.pid, pg_database, addresses)
        print(f"lifecycles {args.seconds:g}s ...", flush=True)
        lifecycle = run_phase("lifecycle", args.seconds, args, port, tokens, server.pid, pg_database, addresses)
        closed_after = closed_total(port, tokens["bj-supervisor"], args.timeout)
        print(f"intake {intake_seconds:g}s ...", flush=True)
        intake = run_phase("intake", intake_seconds, args, port, tokens, server.pid, pg_database, addresses)
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn died during the run:\n{server.log_tail()}")

        expected = lifecycle["completed"] + (warmup["completed"] if warmup else 0)
        result = {
            "name": name,
            "started": stamp,
            "command": " ".join([".venv/bin/python", "bench/lifecycle.py", *(argv or sys.argv[1:])]),
            "config": {
                **{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "intake_seconds": intake_seconds,
            },
            "server_command": " ".join(server.command[1:]),
            "app": _app_revision(args.app_root),
            "machine": {
                "cores": os.cpu_count(),
                "cpu": _cpu_model(),
                "python": platform.python_version(),
                "kernel": platform.release(),
            },
            "background_load_before": idle,
            "warmup": _brief(warmup) if warmup else None,
            "lifecycle": lifecycle,
            "intake": intake,
            "closed_check": {
                "delta": closed_after - closed_before,
                "expected": expected,
                "ok": closed_after - closed_before == expected,
            },
            "server_log_tail": server.log_tail(20),
        }
        path = RESULTS / f"{name}.json"
        result["results_file"] = str(path.relative_to(ROOT))
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print_report(result)
        failed = lifecycle["errors"] or intake["errors"] or not result["closed_check"]["ok"]
        return 1 if failed else 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _brief(phase: dict) -> dict:
    keys = ("seconds", "completed", "per_second", "errors", "error_kinds")
    return {k: phase[k] for k in keys}


def _app_revision(app_root: Path) -> dict:
    """Which code was measured: the commit and whether the tree differs from it."""

    def git(*command):
        done = subprocess.run(["git", *command], cwd=app_root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    return {
        "root": str(app_root),
        "commit": head,
        "changed_files": (git("status", "--porcelain", "--untracked-files=no") or "").splitlines() if head else None,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
