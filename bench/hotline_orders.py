"""Hotline orders per second through POST /api/v1/intake/orders under gunicorn (batches of 100),
the same batches re-sent (all already received), and the routing time per address in-process.

    .venv/bin/python bench/hotline_orders.py --db postgres --batches 20 --clients 2
    .venv/bin/python bench/hotline_orders.py --db sqlite --batches 20 --clients 2

See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lifecycle import (
    BIN,
    RESULTS,
    ROOT,
    Client,
    Server,
    _delta,
    background_load,
    free_port,
    postgres_cpu,
    prepare_database,
    server_env,
    system_cpu,
    tree_cpu,
)

# Real places of the three regions, some without their province, a few flagged on purpose
# (another region, an ambiguous district name, garbage), as hotline centres send them.
PLACES = [
    "北京市通州区梨园镇云景里小区", "北京市朝阳区望京西园三区", "北京市海淀区学院路", "北京市大兴区亦庄镇",
    "通州区宋庄镇小堡村", "北京市昌平区回龙观镇", "北京市丰台区卢沟桥乡", "北京市顺义区后沙峪镇",
    "天津市武清区下朱庄街道", "天津市滨海新区大港石化产业园区", "河北省廊坊市三河市燕郊镇",
    "保定市涿州市码头镇", "朝阳区和平街", "某工业园区东门",
]  # fmt: skip
CONTENTS = [
    "附近工厂夜间排放废气，异味刺鼻，窗户都不敢开。", "工地夜间施工噪音扰民，凌晨还在打桩。",
    "河道里有人偷排污水，水体发黑发臭。", "路边倾倒建筑垃圾，扬尘严重。", "烧烤店油烟直排，楼上全是油烟味。",
    "废品站焚烧电线，黑烟刺鼻。", "搅拌站粉尘污染周边农田。", "养殖场污水直排鱼塘。",
]  # fmt: skip


def order(n: int, run: str, received: str) -> dict:
    return {
        "order_no": f"{run}-{n:07d}", "received_at": received, "type": "投诉",
        "content": CONTENTS[n % len(CONTENTS)], "caller": {"name": "王五", "phone": f"139{n:08d}"},
        "address": f"{PLACES[n % len(PLACES)]}{n % 97}号", "category": "生态环境",
    }  # fmt: skip


def orders(start: int, count: int, run: str) -> list[dict]:
    received = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    return [order(n, run, received) for n in range(start, start + count)]


def create_key(url: str, app_root: Path) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "ecoflow", "hotline-account", "create", "bench-12345", "--line",
         "12345", "--bureau", "BJ"],
        cwd=app_root, env=server_env(url), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().split(": ")[-1]


def send_all(port: int, key: str, batches: list[list[dict]], clients: int, timeout: float, expect: str,
             server_pid: int | None = None, pg_database: str | None = None) -> dict:  # fmt: skip
    """Send the batches from `clients` threads; time, per-batch latencies, answers counted, and the
    CPU the server (and PostgreSQL's backends) spent per order, which holds when others share the machine."""
    queue = list(enumerate(batches))
    lock = threading.Lock()
    latencies, statuses, errors = [], {}, []

    def work():
        client = Client(port, timeout)
        while True:
            with lock:
                if not queue:
                    break
                _, batch = queue.pop(0)
            began = time.perf_counter()
            try:
                status, payload = client.call("POST", "/api/v1/intake/orders", {"orders": batch}, token=key)
            except OSError as exc:
                errors.append(str(exc))
                continue
            elapsed = time.perf_counter() - began
            with lock:
                if status != 200:
                    errors.append(f"{status} {payload[:200]!r}")
                    continue
                latencies.append(elapsed)
                for result in json.loads(payload)["results"]:
                    statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        client.close()

    def cpu():
        server = tree_cpu(server_pid) if server_pid else {}
        database = postgres_cpu(pg_database)[0] if pg_database else {}
        return server, database

    busy0, total0 = system_cpu()
    cpu0 = cpu()
    began = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu1 = cpu()
    busy1, total1 = system_cpu()
    sent = sum(len(b) for b in batches)
    return {
        "orders": sent, "seconds": round(seconds, 2), "orders_per_s": round(sent / seconds, 1),
        "batch_ms_p50": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "batch_ms_max": round(max(latencies) * 1000, 1) if latencies else None,
        "answers": statuses, "errors": errors[:5], "error_count": len(errors), "expected": expect,
        "machine_busy": round((busy1 - busy0) / (total1 - total0), 2) if total1 > total0 else None,
        "server_cpu_ms_per_order": round(_delta(cpu0[0], cpu1[0]) * 1000 / sent, 2),
        "pg_cpu_ms_per_order": round(_delta(cpu0[1], cpu1[1]) * 1000 / sent, 2),
    }  # fmt: skip


def routing_times(addresses: list[str]) -> dict:
    """µs per address through route_address: the first call (loads the parser), then cold, then cached."""
    sys.path.insert(0, str(ROOT))
    from ecoflow.norm import load_norm
    from ecoflow.routing import parse_address, route_address

    table = load_norm(ROOT / "workflows").routing
    began = time.perf_counter()
    route_address(table, "北京市通州区", "BJ")
    first = time.perf_counter() - began
    parse_address.cache_clear()
    flags = {}
    began = time.perf_counter()
    for address in addresses:
        flag = route_address(table, address, "BJ")["flag"]
        flags[flag or "routed"] = flags.get(flag or "routed", 0) + 1
    cold = (time.perf_counter() - began) / len(addresses)
    began = time.perf_counter()
    for address in addresses:
        route_address(table, address, "BJ")
    cached = (time.perf_counter() - began) / len(addresses)
    return {
        "addresses": len(addresses), "first_call_ms": round(first * 1000), "us_per_address": round(cold * 1e6),
        "us_per_address_cached": round(cached * 1e6, 1), "flags": flags,
    }  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--batches", type=int, default=20, help="batches of --size orders")
    parser.add_argument("--size", type=int, default=100, help="orders per batch")
    parser.add_argument("--clients", type=int, default=2, help="centres sending at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pg-database", default="ecoflow_bench_orders", help="dropped and recreated; never 'test'")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--routing-addresses", type=int, default=2000)
    args = parser.parse_args(argv)
    args.app_root = ROOT

    load = background_load()
    with tempfile.TemporaryDirectory(prefix="ecoflow-orders-") as workdir:
        url = prepare_database(args.db, args.pg_database, Path(workdir))
        key = create_key(url, ROOT)
        port = free_port()
        server = Server(args, url, port, Path(workdir) / "gunicorn.log")
        try:
            server.wait_ready(port, args.timeout)
            # Warm-up: every worker loads the address parser once (about a second each).
            send_all(port, key, [orders(n * 10, 10, "warm") for n in range(args.workers * args.threads)],
                     args.workers * args.threads, args.timeout, "created")  # fmt: skip
            run = f"run{os.getpid()}"
            batches = [orders(i * args.size, args.size, run) for i in range(args.batches)]
            pg = args.pg_database if args.db == "postgres" else None
            fresh = send_all(port, key, batches, args.clients, args.timeout, "created", server.pid, pg)
            resent = send_all(port, key, batches, args.clients, args.timeout, "already_received", server.pid, pg)
        finally:
            server.stop()
    routing = routing_times([f"{PLACES[n % len(PLACES)]}{n}号楼" for n in range(args.routing_addresses)])
    result = {
        "config": {**{k: v for k, v in vars(args).items() if k != "app_root"}, "background_load": round(load, 2),
                   "at": datetime.now(UTC).isoformat(timespec="seconds")},
        "fresh": fresh, "resent": resent, "routing": routing,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"hotline-{args.db}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"background load before the run: {load:.0%} of the machine")
    for name in ("fresh", "resent"):
        phase = result[name]
        print(
            f"{name:7} {phase['orders']:6d} orders in {phase['seconds']:7.2f} s = {phase['orders_per_s']:7.1f} "
            f"orders/s; batch of {args.size}: p50 {phase['batch_ms_p50']} ms, max {phase['batch_ms_max']} ms; "
            f"answers {phase['answers']}; errors {phase['error_count']}; machine busy {phase['machine_busy']:.0%}"
        )
        print(
            f"        CPU per order: server {phase['server_cpu_ms_per_order']} ms, PostgreSQL "
            f"{phase['pg_cpu_ms_per_order']} ms; capacity on 2 free cores ≈ "
            f"{2000 / max(0.01, phase['server_cpu_ms_per_order'] + phase['pg_cpu_ms_per_order']):.0f} orders/s"
        )
    print(
        f"routing: first call {routing['first_call_ms']} ms, then {routing['us_per_address']} µs per address "
        f"({routing['us_per_address_cached']} µs when seen before); {routing['flags']}"
    )
    print(f"results: {path}")
    bad = fresh["error_count"] or resent["error_count"] or fresh["answers"].get("created") != fresh["orders"]
    bad = bad or resent["answers"].get("already_received") != resent["orders"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
