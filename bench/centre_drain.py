"""How fast a backlog of 回单 drains to a hotline centre over loopback (docs/centres.md).

This process queues --messages 回单 (one case each, `replied`) for a centre account in a fresh SQLite
database, then delivers them with the scheduler's own `deliver_outbox`: each one POSTed on its own,
signed with the account's secret, --concurrency POSTs in flight. The fake centre runs in a process
of its own (so that this process's CPU is the sender's alone), checks every signature and keeps
each idempotency key once; at the end it must hold exactly --messages."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange_drain import cpu_seconds, drain  # noqa: E402  (bench/ is on the path)
from flask_migrate import upgrade  # noqa: E402

from ecoflow import create_app  # noqa: E402
from ecoflow.exchange.outbox import enqueue_callback  # noqa: E402
from ecoflow.extensions import db  # noqa: E402
from ecoflow.intake.services import create_client  # noqa: E402
from ecoflow.officers.models import Bureau  # noqa: E402
from ecoflow.timeutil import utcnow  # noqa: E402

CENTRE = r"""
import hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
secret, taken, forged = sys.argv[1].encode(), set(), [0]

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"taken": len(taken), "forged": forged[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        mac = hmac.new(secret, self.headers["X-EcoFlow-Timestamp"].encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest("sha256=" + mac.hexdigest(), self.headers["X-EcoFlow-Signature"]):
            forged[0] += 1
            self.send_error(401)
            return
        taken.add(json.loads(body)["idempotency_key"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="POSTs in flight to the centre")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/ecoflow.sqlite", "SCHEDULER_IN_PROCESS": False,
            "EXCHANGE_CONCURRENCY": args.concurrency, "SECRET_KEY": "bench",
        })  # fmt: skip
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.session.add(Bureau(code="BJ", name="北京市生态环境局"))
            centre, _ = create_client("北京12345热线", "hotline_12345", "BJ", callback_url="http://127.0.0.1:1/")
            db.session.commit()
            process = subprocess.Popen([sys.executable, "-c", CENTRE, centre.secret], stdout=subprocess.PIPE, text=True)
            try:
                url = f"http://127.0.0.1:{process.stdout.readline().strip()}"
                centre.callback_url = url + "/huidan"
                now = utcnow()
                for n in range(args.messages):
                    case_no = f"BJ-20261122-{n:05d}"
                    payload = {"order_no": f"12345-20261122-{n:06d}", "case_no": case_no, "result": "已责令整改",
                               "text": "经现场检查，该厂已停产整改并立案处罚。"}  # fmt: skip
                    enqueue_callback("BJ", centre, case_no, "replied", payload, now)
                db.session.commit()
                print(f"{args.messages} 回单 queued; delivering", flush=True)
                centre_before, own_before = cpu_seconds(process.pid), time.process_time()
                started, load_before = time.perf_counter(), os.getloadavg()
                delivered = drain(args.messages)
                elapsed = time.perf_counter() - started
                own_cpu, centre_cpu = time.process_time() - own_before, cpu_seconds(process.pid) - centre_before
                with urllib.request.urlopen(url, timeout=10) as response:
                    held = json.loads(response.read())
            finally:
                process.terminate()
                process.wait()
    print(
        f"delivered {delivered} 回单 in {elapsed:.2f} s: {delivered / elapsed:.0f} messages/s "
        f"({args.concurrency} in flight); the centre holds {held['taken']}, refused {held['forged']} signatures"
    )
    print(f"CPU: sender {own_cpu:.2f} s ({1000 * own_cpu / delivered:.2f} ms/msg), fake centre {centre_cpu:.2f} s "
          f"({1000 * centre_cpu / delivered:.2f} ms/msg); load average before {load_before[0]:.2f}, "
          f"after {os.getloadavg()[0]:.2f}")  # fmt: skip
    if held["taken"] != args.messages or held["forged"]:
        raise SystemExit(f"expected {args.messages} at the centre, none refused")


if __name__ == "__main__":
    main()
