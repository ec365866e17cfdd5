"""A hostile-request run against gunicorn: every door, with the notations and payloads of the privacy and
hardening issue (phone numbers in any notation, formula injection, partial-digit searches, bodies over
the limit, sent whole and in chunks, JSON nested deep, junk envelopes by the thousand, eight threads
racing for one action), and a count of the 5xx answers (target: 0) and of personal data that leaked.

    .venv/bin/python bench/hostile.py --db postgres --workers 3 --threads 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from lifecycle import RESULTS, Server, free_port, prepare_database

PHONES = ["139.1234.5678", "139/1234/5678", "139·1234·5678", "(139)1234-5678", "+86 139 1234 5678",
          "0086-139-1234-5678", "１３９１２３４５６７８", "139 - 1234 - 5678", "1-3-9-1-2-3-4-5-6-7-8"]  # fmt: skip
SECRET_DIGITS = ("12345678", "1234567", "9123", "1234")
ADDRESS = "北京市朝阳区望京西园三区222号楼"
FORMULA = '=HYPERLINK("http://evil.example/","点我")区某街1号'
DEEP = [32 + 1, 200, 980, 5000, 100_000]


class Tally:
    def __init__(self):
        self.lock, self.statuses, self.by_door, self.fivexx, self.leaks = threading.Lock(), Counter(), Counter(), [], []

    def note(self, door: str, status: int, body: bytes = b""):
        with self.lock:
            self.statuses[status] += 1
            self.by_door[door] += 1
            if status >= 500:
                self.fivexx.append((door, status, body[:200].decode(errors="replace")))

    def leak(self, where: str, text: str):
        with self.lock:
            self.leaks.append((where, text[:200]))


def call(port, method, path, body=None, headers=None, raw: bytes | None = None, chunked=False):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = dict(headers or {})
    data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        if chunked:
            pieces = (data[i : i + 65536] for i in range(0, len(data), 65536))
            connection.request(method, path, body=pieces, headers=headers, encode_chunked=True)
        else:
            connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):  # the server may close on a body it will not read
        return 499, b""
    finally:
        connection.close()


def token(port, user):
    status, body = call(port, "POST", "/api/v1/auth/token", {"username": user, "password": "ecoflow-demo"})
    assert status == 200, body
    return {"Authorization": "Bearer " + json.loads(body)["token"]}


def folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def run(port, tally: Tally, rounds: int):
    users = ("bj-intake", "bj-supervisor", "bj-dispatcher", "bj-officer")
    intake, supervisor, dispatcher, officer = (token(port, u) for u in users)

    def hit(door, method, path, **kw):
        status, body = call(port, method, path, **kw)
        tally.note(door, status, body)
        return status, body

    # 1. Phone numbers in every notation, the complainant's own estate, a formula as the address.
    cases = []
    for i, phone in enumerate(PHONES * rounds):
        home = "某处" if i % 3 == 0 else "望京西园三区"  # the estate is the complainant's only where they live there
        body = {"channel": "hotline_12345", "external_id": f"hostile-{i}", "type": "complaint",
                "description": f"我是王小明，电话{phone}，住{home}，凉水河死鱼，小区东侧工厂夜间排放",
                "complainant": {"name": "王小明", "phone": "13912345678", "callback_consent": True},
                "location": {"address": FORMULA if i % 3 == 0 else ADDRESS}}  # fmt: skip
        status, answer = hit("intake", "POST", "/api/v1/complaints", body=body, headers=intake)
        if status in (200, 201):
            cases.append(json.loads(answer)["case_no"])
    for case_no in cases:
        status, answer = hit("case", "GET", f"/api/v1/complaints/{case_no}", headers=supervisor)
        text = folded(json.loads(answer).get("description", "")) if status == 200 else ""
        if any(d in text for d in SECRET_DIGITS[:2]) or "王小明" in text:
            tally.leak("case as supervisor", text)
        for keep in ("凉水河死鱼", "小区东侧工厂"):
            if status == 200 and keep not in text:
                tally.leak("over-masked", text)
    # 2. Searches as an oracle: partial digits, the name, the estate.
    for probe in ("1391234567", "3912345678", "139.1234.567", "王小明", "望京西园三区", "12345678"):
        query = urllib.parse.urlencode({"text": probe})
        status, answer = hit("search", "GET", f"/api/v1/complaints?{query}", headers=supervisor)
        if status == 200 and json.loads(answer)["total"]:
            tally.leak(f"search {probe}", str(json.loads(answer)["total"]))
    # 3. Every action of a case, eight threads at once (accept, assign, sign, pause, resume, reply).
    for _ in range(rounds):
        plain = {"channel": "visit", "type": "complaint", "description": "工厂废气", "location": {"address": ADDRESS}}
        status, answer = hit("intake", "POST", "/api/v1/complaints", headers=intake, body=plain)
        if status not in (200, 201):
            tally.leak("intake refused", answer.decode(errors="replace"))  # not a leak: shown all the same
            continue
        case_no = json.loads(answer)["case_no"]
        steps = [("accept", intake, {}),
                 ("assign", dispatcher, {"unit": "chaoyang", "officer": "bj-officer", "grade": "general",
                                         "categories": ["air"]}),
                 ("sign", officer, {}), ("pause", supervisor, {"reason": "等待监测"}),
                 ("resume", supervisor, {"note": "恢复"}),
                 ("reply", officer, {"result": "已处理", "text": "已处理"})]  # fmt: skip
        for action, headers, fields in steps:
            status, answer = hit("case", "GET", f"/api/v1/complaints/{case_no}", headers=supervisor)
            version = json.loads(answer)["version"]
            path = f"/api/v1/complaints/{case_no}/actions/{action}"
            threads = [threading.Thread(target=hit, args=("race", "POST", path),
                                        kwargs={"body": {"version": version, **fields}, "headers": headers})
                       for _ in range(8)]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    # 4. Bodies over the limit, whole and in chunks, and deep JSON, at every JSON door.
    doors = [("/api/v1/auth/token", {}), ("/api/v1/complaints", intake), ("/api/v1/complaints/duplicates", intake),
             (f"/api/v1/complaints/{cases[0]}/actions/accept", intake), ("/api/v1/whistles/1/report-in", officer),
             ("/api/v1/whistles/1/close", officer), ("/api/v1/exposures", supervisor), ("/api/v1/public/lookup", {}),
             ("/api/v1/intake/orders", {}), ("/exchange/v1/messages", {}), ("/exchange/v1/message", {})]  # fmt: skip
    big = json.dumps({"description": "废" * (1024 * 1024)}).encode()
    for path, headers in doors:
        for chunked in (False, True):
            hit("too large", "POST", path, raw=big, headers=headers, chunked=chunked)
        for depth in DEEP:
            hit("deep", "POST", path, raw=('{"a": ' + "[" * depth + "]" * depth + "}").encode(), headers=headers)
        hit("junk", "POST", path, raw=b"{not json", headers=headers)
        hit("junk", "POST", path, raw=b"\x00\xff\xfe", headers=headers)
    # 5. An anonymous flood at the exchange: batches of 1,000 unsigned envelopes.
    started = time.monotonic()
    for b in range(10):
        batch = {"messages": [{"id": f"f{b}-{i}", "from": "XX", "to": "BJ", "type": "lead.ack"} for i in range(1000)]}
        hit("flood", "POST", "/exchange/v1/messages", body=batch)
    tally.flood_seconds = time.monotonic() - started
    # 6. The public doors: the board, Open311, the lookup.
    for path in ("/api/v1/public/exposures", "/open311/v2/requests.json?jurisdiction_id=BJ", "/public/exposures",
                 "/open311/v2/requests.xml?jurisdiction_id=BJ&status=open,closed"):  # fmt: skip
        status, body = hit("public", "GET", path)
        if any(d in folded(body.decode(errors="replace")) for d in SECRET_DIGITS[:2]):
            tally.leak(path, body.decode(errors="replace"))
    # 7. The monthly report with the formula address in it.
    status, _ = hit("report", "GET", "/api/v1/assessment/report.xlsx", headers=supervisor)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--pg-database", default="ecoflow_hostile", help="dropped and recreated; never 'test'")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="how many times the notations and races repeat")
    parser.add_argument("--app-root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        url = prepare_database(args.db, args.pg_database, Path(workdir), args.app_root)
        port = free_port()
        server = Server(args, url, port, Path(workdir) / "gunicorn.log")
        try:
            server.wait_ready(port, 30)
            tally = Tally()
            started = time.monotonic()
            run(port, tally, args.rounds)
            seconds = time.monotonic() - started
            log = server.log_tail(2000)
        finally:
            server.stop()
    result = {
        "at": datetime.now(UTC).isoformat(), "db": args.db, "workers": args.workers, "threads": args.threads,
        "requests": sum(tally.statuses.values()), "seconds": round(seconds, 1),
        "statuses": dict(sorted(tally.statuses.items())), "by_door": dict(tally.by_door),
        "5xx": tally.fivexx, "leaks": tally.leaks, "flood_seconds": round(tally.flood_seconds, 2),
        "tracebacks_in_log": len(re.findall(r"Traceback", log)),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"hostile-{args.db}-{int(time.time())}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1)
    )
    print(json.dumps({k: v for k, v in result.items() if k != "by_door"}, ensure_ascii=False, indent=1))
    return 1 if tally.fivexx or tally.leaks else 0


if __name__ == "__main__":
    sys.exit(main())
