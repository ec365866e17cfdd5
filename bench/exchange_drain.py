"""How fast a backlog of queued exchange messages drains to a peer that comes back, over HTTP.

Beijing's outbox (SQLite, in this process) holds --messages messages for Hebei while Hebei is down;
then Hebei's instance starts (gunicorn, its own SQLite database) and this process delivers the
whole backlog with the scheduler's own delivery function, in batches of --batch envelopes per POST,
each envelope signed, verified, checked against its schema and applied in its own transaction."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecoflow import create_app  # noqa: E402
from ecoflow.exchange.outbox import deliver_outbox, enqueue  # noqa: E402
from ecoflow.extensions import db  # noqa: E402
from ecoflow.timeutil import utcnow  # noqa: E402
from tests.federation import Federation  # noqa: E402


def payload(kind: str, n: int) -> dict:
    if kind == "exposure.publish":
        return {"case_no": f"BJ-20261122-{n:05d}", "title": f"典型案例 {n}", "summary": "某化工厂偷排废气，已处罚。",
                "categories": ["air"], "closed_at": utcnow().isoformat()}  # fmt: skip
    return {"origin_case_no": f"BJ-20261122-{n:05d}", "type": "complaint", "summary": "傍晚闻到刺鼻的化工异味。",
            "categories": ["air"], "grade": "general", "received_at": utcnow().isoformat(), "reason": "污染源在河北",
            "location": {"address": f"河北省廊坊市三河市燕郊镇某小区{n}号楼"}}  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """user+sys of a process and its children (gunicorn master and workers) from /proc."""
    total = 0.0
    for child in [pid, *(int(p) for p in os.popen(f"pgrep -P {pid}").read().split())]:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def drain(expected: int) -> int:
    """Deliver the outbox with the scheduler's own deliver_outbox until `expected` messages went out;
    returns how many did."""
    delivered = 0
    while delivered < expected:
        done = deliver_outbox(utcnow())
        if not done:
            raise SystemExit(f"stalled after {delivered} delivered")
        delivered += done
    return delivered


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the receiving instance")
    parser.add_argument("--concurrency", type=int, default=2, help="POSTs in flight to the peer")
    parser.add_argument("--type", default="exposure.publish", choices=["exposure.publish", "lead.transfer"])
    parser.add_argument("--target", type=float, default=500)
    args = parser.parse_args()

    os.environ.pop("TEST_DATABASE_URL", None)  # SQLite files, one per instance
    with tempfile.TemporaryDirectory() as tmp:
        federation = Federation(Path(tmp), codes=("BJ", "HE"))
        bj, he = federation["BJ"], federation["HE"]
        os.environ.update({k: v for k, v in bj.env.items() if k in ("ECOFLOW_CONFIG", "DATABASE_URL")})
        app = create_app({"EXCHANGE_BATCH": args.batch, "EXCHANGE_CONCURRENCY": args.concurrency,
                          "SCHEDULER_IN_PROCESS": False})  # fmt: skip
        try:
            with app.app_context():
                now = utcnow()
                for n in range(args.messages):
                    enqueue(args.type, "BJ", "HE", f"BJ-20261122-{n:05d}", payload(args.type, n), now)
                db.session.commit()
                print(f"{args.messages} {args.type} messages queued for HE (down); starting HE", flush=True)
                he.scheduler = False  # the receiver's own jobs are not what is measured
                he.start(workers=args.workers)
                cpu_before, started, load_before = cpu_seconds(he.process.pid), time.perf_counter(), os.getloadavg()
                own_before = time.process_time()
                delivered = drain(args.messages)
                elapsed = time.perf_counter() - started
                server_cpu, own_cpu = cpu_seconds(he.process.pid) - cpu_before, time.process_time() - own_before
        finally:
            federation.stop()
        table = "received_exposures" if args.type == "exposure.publish" else "complaints WHERE channel='peer_transfer'"
        with sqlite3.connect(he.dir / "ecoflow.sqlite") as connection:
            arrived = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    rate = delivered / elapsed
    print(
        f"delivered {delivered} in {elapsed:.2f} s: {rate:.0f} messages/s "
        f"(batch {args.batch} x {args.concurrency} in flight, receiver {args.workers} workers, type {args.type}); "
        f"arrived at HE: {arrived}"
    )
    print(f"CPU: receiver {server_cpu:.2f} s ({1000 * server_cpu / delivered:.2f} ms/msg), "
          f"sender {own_cpu:.2f} s ({1000 * own_cpu / delivered:.2f} ms/msg); "
          f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")  # fmt: skip
    capacity = 2000 / (1000 * (server_cpu + own_cpu) / delivered)
    print(f"CPU-bound capacity on 2 cores with nothing else running: {capacity:.0f} messages/s")
    if arrived != args.messages:
        raise SystemExit(f"expected {args.messages} at HE, found {arrived}")
    print("target met" if rate >= args.target else f"below the target of {args.target:.0f} messages/s")


if __name__ == "__main__":
    main()
