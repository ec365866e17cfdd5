#!/usr/bin/env python3
"""What one database access costs the server, in CPU: the building blocks of an EcoFlow request
(a driver round trip, a Core select, the ORM loads the API does per request) timed in a loop.

    .venv/bin/python bench/orm_micro.py --db postgres [--n 2000] [--app-root PATH]

Prepares its own database (PostgreSQL: ecoflow_bench_micro; never `test`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from lifecycle import RESULTS, ROOT, SECRET_KEY, prepare_database


def measure(name, function, n):
    for _ in range(max(10, n // 20)):
        function()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        function()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    row = {"name": name, "cpu_us": cpu * 1e6 / n, "wall_us": wall * 1e6 / n}
    print(f"{name:<72} {row['cpu_us']:>8.0f} {row['wall_us']:>8.0f}")
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg-database", default="ecoflow_bench_micro")
    parser.add_argument("--app-root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="ecoflow-micro-"))
    try:
        app_root = args.app_root.resolve()
        url = prepare_database(args.db, args.pg_database, workdir, app_root)
        sys.path.insert(0, str(app_root))
        from sqlalchemy import select, text, update
        from sqlalchemy.orm import Session, lazyload

        from ecoflow import create_app
        from ecoflow.complaints.models import Complaint
        from ecoflow.extensions import db
        from ecoflow.officers.models import Officer
        from ecoflow.officers.services import issue_token, officer_for_token

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
        rows = []
        n = args.n
        with app.test_request_context():
            engine = db.engine
            officer_id = db.session.scalar(select(Officer.id).where(Officer.username == "bj-officer"))
            case_no = db.session.scalar(
                select(Complaint.case_no).where(Complaint.state == "closed", Complaint.bureau_code == "BJ").limit(1)
            )
            token, _ = issue_token(db.session.get(Officer, officer_id))
            db.session.remove()
            print(f"{'operation (CPU of this process; wall includes waiting for the database)':<72} {'CPU µs':>8} "
                  f"{'wall µs':>8}")  # fmt: skip

            def roundtrip():
                with engine.connect() as c:
                    c.exec_driver_sql("SELECT 1").scalar()

            rows.append(measure("pool checkout + SELECT 1 + return (driver round trip)", roundtrip, n))

            def core_officer():
                with engine.connect() as c:
                    c.execute(select(Officer.__table__).where(Officer.id == officer_id)).first()

            rows.append(measure("Core: select one officers row", core_officer, n))

            def orm_get_officer():
                with Session(engine) as s:
                    s.get(Officer, officer_id)

            rows.append(measure("ORM: new session, get(Officer) (joined unit + selectin grants)", orm_get_officer, n))

            def orm_get_officer_plain():
                with Session(engine) as s:
                    s.get(Officer, officer_id, options=[lazyload("*")])

            rows.append(measure("ORM: new session, get(Officer) without eager loads", orm_get_officer_plain, n))

            def auth():
                officer_for_token(token)
                db.session.remove()

            rows.append(measure("officer_for_token (what every request does) + session remove", auth, n))

            def orm_complaint():
                with Session(engine) as s:
                    s.scalar(select(Complaint).where(Complaint.case_no == case_no))

            rows.append(measure("ORM: select(Complaint) by case_no, as get_complaint (eager loads)", orm_complaint, n))

            def orm_complaint_plain():
                with Session(engine) as s:
                    s.scalar(select(Complaint).where(Complaint.case_no == case_no).options(lazyload("*")))

            rows.append(measure("ORM: select(Complaint) by case_no without eager loads", orm_complaint_plain, n))

            def core_complaint():
                with engine.connect() as c:
                    c.execute(select(Complaint.__table__).where(Complaint.case_no == case_no)).first()

            rows.append(measure("Core: select one complaints row by case_no", core_complaint, n))

            def core_write():
                with engine.begin() as c:
                    c.execute(update(Complaint.__table__).where(Complaint.case_no == case_no).values(reopen_count=0))

            rows.append(measure("Core: BEGIN + UPDATE one complaint + COMMIT", core_write, n // 2))

            def commit_only():
                with engine.begin() as c:
                    c.execute(text("SELECT 1"))

            rows.append(measure("Core: BEGIN + SELECT 1 + COMMIT", commit_only, n // 2))

        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"orm-micro-{args.db}-{stamp}.json"
        path.write_text(json.dumps({"db": args.db, "n": n, "rows": rows}, indent=2, ensure_ascii=False) + "\n")
        print(f"results: {path.relative_to(ROOT)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
