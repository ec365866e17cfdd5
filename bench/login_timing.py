#!/usr/bin/env python3
"""How long a wrong login takes for a real username and for an unknown one, in-process with the
configured (production) password hashing: the two should not tell an attacker which usernames exist.

    .venv/bin/python bench/login_timing.py --tries 20

A fresh SQLite database in a temporary directory, the demo officers, scrypt as configured.
Prints the median and the spread of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate

from ecoflow import create_app
from ecoflow.demo import load_demo
from ecoflow.transaction import unit_of_work


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite", "SECRET_KEY": "bench",
        "LOGIN_MAX_FAILURES": 10**6, "LOGIN_RATE_LIMIT": "",
    })  # fmt: skip
    with app.app_context():
        flask_migrate.upgrade()
        with unit_of_work():
            load_demo()
    client = app.test_client()
    timings = {"known": [], "unknown": []}
    for i in range(args.tries):
        for kind, username in (("known", "bj-officer"), ("unknown", f"nobody-{i}")):
            start = time.perf_counter()
            response = client.post("/api/v1/auth/token", json={"username": username, "password": f"wrong-{i}"})
            timings[kind].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 401, response.json
    for kind, values in timings.items():
        print(f"{kind:8s} median {statistics.median(values):7.1f} ms  min {min(values):7.1f}  max {max(values):7.1f}")


if __name__ == "__main__":
    main()
