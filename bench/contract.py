"""The API's contract, fuzzed for longer than `make test` does (tests/test_contract.py).

Serves the app over HTTP from a process of its own (gunicorn-less: werkzeug, threaded) on a fresh
SQLite database with the demo data (`flask ecoflow seed-demo`), signs in as the demo admin with every
role granted, and runs schemathesis over GET /api/v1/openapi.json for --max-time seconds with
--examples examples per operation and phase. Reports how many requests it sent (by status class),
how many failed a check, and schemathesis's exit code (0: no 5xx, no answer breaking its schema)."""

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

from tests.test_contract import run_schemathesis  # noqa: E402  (the same run as the test's, longer)

SERVER = r"""
import sys
from werkzeug.serving import run_simple
from ecoflow import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "bench", "LOGIN_RATE_LIMIT": "",
                  "EVIDENCE_DIR": sys.argv[3], "SCHEDULER_IN_PROCESS": False})
run_simple("127.0.0.1", int(sys.argv[2]), app, threaded=True)
"""

GRANT = r"""
import sys
from ecoflow import create_app
from ecoflow.extensions import db
from ecoflow.officers.models import Officer, RoleGrant
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "bench"})
with app.app_context():
    admin = db.session.query(Officer).filter_by(username="bj-admin").one()
    held = {g.role for g in admin.grants}
    for role in ("intake", "dispatcher", "officer", "supervisor", "leader"):
        if role not in held:
            admin.grants.append(RoleGrant(role=role, bureau_code="BJ"))
    db.session.commit()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-time", type=int, default=600, help="seconds of fuzzing")
    parser.add_argument("--examples", type=int, default=50, help="examples per operation and phase")
    parser.add_argument("--port", type=int, default=5919)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ecoflow-contract-"))
    uri = f"sqlite:///{work / 'bench.sqlite'}"
    env = {**os.environ, "DATABASE_URL": uri, "SECRET_KEY": "bench", "ECOFLOW_SCHEDULER": "false"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "ecoflow", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", GRANT, uri], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, "-c", SERVER, uri, str(args.port), str(work / "evidence")], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):  # up to two minutes on a busy machine
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit(f"the server did not start (exit code {server.returncode})")
                time.sleep(0.2)
        login = json.dumps({"username": "bj-admin", "password": "ecoflow-demo"}).encode()
        request = urllib.request.Request(f"{base}/api/v1/auth/token", login, {"Content-Type": "application/json"})
        token = json.load(urllib.request.urlopen(request, timeout=10))["token"]
        started = time.monotonic()
        code, output, sent = run_schemathesis(base, token, work, examples=args.examples, max_time=args.max_time)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(10)
    summary = output[output.find("Test cases:") :].splitlines()[:2] if "Test cases:" in output else []
    print(output[-6000:] if code else "\n".join(summary))
    total = sum(sent.values())
    print(f"requests sent: {total} in {elapsed:.0f} s ({total / elapsed:.1f}/s), by status: {json.dumps(sent)}")
    print(f"schemathesis exit code: {code} ({'no failures' if code == 0 else 'FAILURES above'})")
    sys.exit(code)


if __name__ == "__main__":
    main()
