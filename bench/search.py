#!/usr/bin/env python3
"""案件查询 over many cases: median and p95 of every kind of search the issue lists, through the API
(GET /api/v1/complaints, in-process through the Flask test client: the query, the count, the page's
serialisation; no HTTP).

    .venv/bin/python bench/search.py --db postgres --cases 1000000     # database h16bench, dropped and made anew
    .venv/bin/python bench/search.py --db sqlite --cases 100000

Prepares its own fresh database with the demo data (PostgreSQL: --pg-database, default h16bench; never
`test`), then adds --cases complaints of the Beijing bureau in bulk (COPY on PostgreSQL, executemany on
SQLite; not through the API: a million registrations would take hours), spread over two years, 85 % closed,
with categories and, for the open ones, a running reply clock. Descriptions are made of three of ~150
phrases (so a two-character word like 异味 is in a few percent of cases), a tenth of them with a phone
number; the masked copy is made by ecoflow.complaints.privacy.searchable_copy per distinct description
and address. The GIN indexes are built after the load, then ANALYZE. Each kind of search runs --repeat
times with different values; writes bench/results/search-<db>-<time>.json. Exit status 1 when a kind's
median exceeds 300 ms or its p95 1 s (PostgreSQL only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from lifecycle import PASSWORD, RESULTS, ROOT, SECRET_KEY, prepare_database

sys.path.insert(0, str(ROOT))


def words(text: str) -> list[str]:
    return text.split()


PLACES = words("通州 朝阳 海淀 丰台 大兴 顺义 昌平 房山 怀柔 密云")
SUBJECTS = words(
    """工厂 饭店 工地 养殖场 洗车店 加油站 污水处理厂 垃圾站 化工厂 印染厂 砖厂 物流园
搅拌站 木材厂 医院 学校 菜市场 烧烤摊 KTV 汽修厂"""
)
PROBLEMS = words(
    """异味刺鼻 死鱼很多 夜间排放废气 噪声扰民 污水直排河道 黑烟滚滚 粉尘很大 油烟直排
偷倒建筑垃圾 焚烧垃圾 渗滤液外溢 臭气熏天 河水发黑 机器轰鸣 凌晨施工 夜间偷排
有刺激性气味 水面漂浮油污 堆放危险废物 冒白烟 震动很大 扬尘严重 恶臭难闻
排水管冒泡 鸣笛扰民 装修噪声 露天喷漆 废水外溢 乱倒渣土 秸秆焚烧"""
)
ASKS = words(
    """请尽快处理 已多次反映 希望相关部门查处 影响休息 孩子咳嗽 老人身体不适 请派人检查
要求停产整改 多次投诉无果 周边居民意见很大 请回电告知结果 附近有学校
晚上十点以后最严重 白天也有 持续一个多月"""
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国志"
ESTATES = words(
    """云景里 梨园小区 八里桥 通惠家园 望京西园 团结湖 双井 劲松 方庄 天通苑 回龙观
北苑家园 果园 九棵树 玉桥 新华联 武夷花园 运河园 京贸中心 潞苑"""
)
DISTRICTS = [("110112", "北京市通州区"), ("110105", "北京市朝阳区")]
# The states of the cases, by share: mostly closed, as a bureau's years of cases are.
STATES = ["closed"] * 85 + ["rejected"] * 3 + ["merged"] * 2 + ["handling"] * 5 + ["assigned"] * 2 + ["received"] * 2
STATES += ["replied"]


def descriptions(rng: random.Random, count: int) -> list[str]:
    out = []
    for n in range(count):
        place, subject, ask = rng.choice(PLACES), rng.choice(SUBJECTS), rng.choice(ASKS)
        text = f"{place}{subject}{rng.choice(PROBLEMS)}，{rng.choice(PROBLEMS)}，{ask}。"
        if n % 10 == 0:
            text += f"联系电话13{rng.randint(0, 999999999):09d}。"
        out.append(text)
    return out


def build_rows(app, count: int, start_id: int, seed: int = 16):
    """The complaints, their categories and running clocks as tuples; with what the searches ask for."""
    from ecoflow.complaints import privacy
    from ecoflow.complaints.intake import complainant_key
    from ecoflow.extensions import db
    from ecoflow.officers.models import Officer, Unit

    rng = random.Random(seed)
    with app.app_context():
        units = {u.code: u.id for u in db.session.query(Unit).filter_by(bureau_code="BJ")}
        officer_id = db.session.query(Officer.id).filter_by(username="bj-officer").scalar()
        pool = descriptions(rng, 6000)
        addresses = [(code, f"{district}某街道{rng.choice(ESTATES)}{rng.randint(1, 40)}号楼") for code, district in
                     DISTRICTS for _ in range(1500)]  # fmt: skip
        names = [
            rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))) for _ in range(20000)
        ]
        # The masked copy, made by the one masker, per distinct piece: a description that names no
        # complainant masks the same for every case; the place masks per address.
        masked_desc = {d: privacy.mask_text(d, None) for d in pool}
        masked_place = {a: privacy.mask_address(a, code) for code, a in addresses}
        with app.app_context():
            check = SimpleNamespace(description=pool[0], complainant_name="张三", complainant_phone="1",
                                    address=addresses[0][1], district_code=addresses[0][0])  # fmt: skip
            assert privacy.searchable_copy(check) == masked_desc[pool[0]] + " " + masked_place[addresses[0][1]]
        end = datetime(2026, 12, 1, tzinfo=UTC)
        span = int(timedelta(days=730).total_seconds())
        complaints, categories, clocks = [], [], []
        probes = {"case_no": [], "external_id": [], "phone": [], "name": []}
        day_counts: dict[str, int] = {}
        received = sorted(end - timedelta(seconds=rng.randrange(span)) for _ in range(count))
        for n in range(count):
            cid = start_id + n
            at = received[n]
            day = at.strftime("%Y%m%d")
            day_counts[day] = day_counts.get(day, 0) + 1
            case_no = f"BJ-{day}-{day_counts[day] + 5000:04d}"
            external_id = f"12345-{at.year}-{cid:07d}" if n % 2 == 0 else None
            channel = "hotline_12345" if external_id else rng.choice(("hotline_12369", "online", "letter", "visit"))
            description = rng.choice(pool)
            code, address = rng.choice(addresses)
            name = rng.choice(names)
            phone = f"139{cid:08d}"
            state = rng.choice(STATES)
            grade = (
                None
                if state in ("received", "rejected", "merged")
                else rng.choice(("general",) * 8 + ("key", "urgent"))
            )
            has_officer = state in ("handling", "assigned", "replied", "closed")
            closed_at = at + timedelta(days=rng.randint(1, 20)) if state == "closed" else None
            complaints.append((
                cid, case_no, "BJ", channel, external_id, "complaint", description,
                masked_desc[description] + " " + masked_place[address], name, phone, complainant_key(phone),
                True, False, True, address, code, state, grade, "{}", grade == "key",
                units["tongzhou"] if has_officer else None, officer_id if has_officer else None,
                1 if (state == "closed" and n % 40 == 0) else 0, at, closed_at, at, closed_at or at, 1, 0, "",
            ))  # fmt: skip
            categories.append((cid, rng.choice(("air", "air", "noise", "water", "solid_waste"))))
            if state in ("handling", "assigned", "replied"):
                clocks.append((cid, "reply", 7, "days", at, at + timedelta(days=7), 0, False, 0))
            if n % 997 == 0:
                probes["case_no"].append(case_no)
                probes["phone"].append(phone)
                probes["name"].append(name)
                if external_id:
                    probes["external_id"].append(external_id)
    return complaints, categories, clocks, probes


COMPLAINT_COLUMNS = (
    "id", "case_no", "bureau_code", "channel", "external_id", "type", "description", "masked_text", "complainant_name",
    "complainant_phone", "complainant_key", "callback_consent", "is_sensitive", "notify_complainant", "address",
    "district_code", "state", "grade", "suggestion", "is_on_ledger", "unit_id", "officer_id", "reopen_count",
    "received_at", "closed_at", "created_at", "updated_at", "version", "event_seq", "event_hash",
)  # fmt: skip
CLOCK_COLUMNS = ("complaint_id", "kind", "period_amount", "period_unit", "started_at", "due_at", "paused_seconds",
                 "is_extension_pending", "approved_extensions")  # fmt: skip
GIN = ("ix_complaints_search_grams", "ix_complaints_search_trgm")


def sample_probes(app) -> dict:
    """What the searches ask for, from the cases a previous run loaded (ids from 1,000,000 on)."""
    from ecoflow.extensions import db

    with app.app_context():
        rows = db.session.execute(
            db.text("SELECT case_no, external_id, complainant_phone, complainant_name FROM complaints "
                    "WHERE id >= 1000000 AND id % 997 = 0 ORDER BY id")
        ).all()  # fmt: skip
    return {
        "case_no": [r[0] for r in rows], "external_id": [r[1] for r in rows if r[1]],
        "phone": [r[2] for r in rows], "name": [r[3] for r in rows],
    }  # fmt: skip


def load_postgres(url: str, complaints, categories, clocks):
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        definitions = {name: conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,)).fetchone()[0]
                       for name in GIN}  # fmt: skip
        for index in GIN:
            conn.execute(f"DROP INDEX {index}")
        started = time.perf_counter()
        with conn.cursor() as cur:
            for table, columns, rows in (("complaints", COMPLAINT_COLUMNS, complaints),
                                         ("complaint_categories", ("complaint_id", "category"), categories),
                                         ("clocks", CLOCK_COLUMNS, clocks)):  # fmt: skip
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        print(f"  COPY: {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        for definition in definitions.values():
            conn.execute(definition)
        print(f"  GIN indexes: {time.perf_counter() - started:.0f} s", flush=True)
        conn.execute("SELECT setval('complaints_id_seq', (SELECT max(id) FROM complaints))")
        conn.execute("VACUUM ANALYZE complaints")
        conn.execute("VACUUM ANALYZE clocks")
        conn.execute("VACUUM ANALYZE complaint_categories")


def load_sqlite(url: str, complaints, categories, clocks):
    import sqlite3

    def stamp(value):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    for table, columns, rows in (("complaints", COMPLAINT_COLUMNS, complaints),
                                 ("complaint_categories", ("complaint_id", "category"), categories),
                                 ("clocks", CLOCK_COLUMNS, clocks)):  # fmt: skip
        marks = ", ".join("?" for _ in columns)
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                         ([stamp(v) for v in row] for row in rows))  # fmt: skip
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def kinds(probes: dict, rng: random.Random) -> dict[str, tuple[str, list[dict]]]:
    """Each kind of search: who asks, and the parameters of each repetition."""
    words2 = ["异味", "死鱼", "通州", "噪声", "油烟", "扬尘", "恶臭", "黑烟"]
    phrases = ["夜间排放废气", "污水直排河道", "偷倒建筑垃圾", "水面漂浮油污", "臭气熏天"]
    months = [(f"2026-{m:02d}-01", f"2026-{m:02d}-28") for m in range(1, 11)]
    return {
        "case number": ("bj-supervisor", [{"text": c} for c in probes["case_no"]]),
        "order number": ("bj-supervisor", [{"external_id": e} for e in probes["external_id"]]),
        "phone (intake)": ("bj-intake", [{"phone": p} for p in probes["phone"]]),
        "phone (masked viewer: nothing)": ("bj-supervisor", [{"phone": p} for p in probes["phone"]]),
        "name (intake)": ("bj-intake", [{"complainant": n} for n in probes["name"]]),
        "2-char word (masked viewer)": ("bj-supervisor", [{"text": w} for w in words2]),
        "2-char word (intake, unmasked)": ("bj-intake", [{"text": w} for w in words2]),
        "phrase (masked viewer)": ("bj-supervisor", [{"text": p} for p in phrases]),
        "2-char word + closed + date range, sorted by closing, page 2": (
            "bj-supervisor",
            [
                {
                    "text": rng.choice(words2),
                    "state": "closed",
                    "received_from": a,
                    "received_to": b,
                    "sort": "closed_at",
                    "order": "desc",
                    "page": 2,
                }
                for a, b in months
            ],
        ),
        "date range + category, page 3": (
            "bj-supervisor",
            [{"received_from": a, "received_to": b, "category": "noise", "page": 3} for a, b in months],
        ),
        "state filter sorted by deadline": (
            "bj-supervisor",
            [{"state": ["handling", "assigned"], "sort": "due_at", "order": "asc"}] * 8,
        ),
        "everything, newest first": ("bj-supervisor", [{}] * 8),
        "everything sorted by grade, page 10": ("bj-supervisor", [{"sort": "grade", "page": 10}] * 8),
    }


def measure(app, plan: dict, repeat: int) -> dict:
    client = app.test_client()
    tokens = {}
    for username in {who for who, _ in plan.values()}:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        tokens[username] = {"Authorization": f"Bearer {response.json['token']}"}
    results = {}
    for kind, (who, params) in plan.items():
        params = (params * (repeat // max(1, len(params)) + 1))[:repeat] if params else []
        client.get("/api/v1/complaints", headers=tokens[who], query_string=params[0])  # warm-up
        times, totals, capped = [], [], False
        for query in params:
            started = time.perf_counter()
            response = client.get("/api/v1/complaints", headers=tokens[who], query_string=query)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (kind, query, response.json)
            totals.append(response.json["total"])
            capped = capped or response.json.get("total_is_lower_bound", False)
        results[kind] = {
            "who": who, "runs": len(times), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(sorted(times)[max(0, int(len(times) * 0.95 + 0.5) - 1)], 1),
            "max_ms": round(max(times), 1), "total_median": statistics.median(totals), "total_capped": capped,
        }  # fmt: skip
        r = results[kind]
        found = f"found {'> ' if capped else '~'}{r['total_median']:.0f}"
        print(f"  {kind:62s} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  ({found})", flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--pg-database", default="h16bench")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: search the cases a previous run left")
    parser.add_argument(
        "--count-cap",
        type=int,
        default=None,
        help="the app's SEARCH_COUNT_CAP (default: the app's, 10000); 0 counts every match exactly",
    )
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as workdir:
        os.environ.setdefault("ECOFLOW_SCHEDULER", "0")
        from ecoflow import create_app as make_app

        def create_app(config):
            cap = {} if args.count_cap is None else {"SEARCH_COUNT_CAP": args.count_cap}
            return make_app({**config, **cap})

        loaded = None
        if args.reuse:
            url = f"postgresql+psycopg://127.0.0.1:5432/{args.pg_database}"
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
            probes = sample_probes(app)
        else:
            url = prepare_database(args.db, args.pg_database, Path(workdir))
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
            started = time.perf_counter()
            complaints, categories, clocks, probes = build_rows(app, args.cases, start_id=1_000_000)
            print(f"{args.cases} cases made in {time.perf_counter() - started:.0f} s", flush=True)
            started = time.perf_counter()
            (load_postgres if args.db == "postgres" else load_sqlite)(url, complaints, categories, clocks)
            loaded = round(time.perf_counter() - started)
            print(f"loaded in {loaded} s", flush=True)
            del complaints, categories, clocks
        results = measure(app, kinds(probes, random.Random(7)), args.repeat)

    summary = {"db": args.db, "cases": args.cases, "repeat": args.repeat, "count_cap": args.count_cap, "load_s": loaded,
               "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "kinds": results}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"search-{args.db}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print(f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; written to {out}")
    slow = [k for k, r in results.items() if r["median_ms"] > 300 or r["p95_ms"] > 1000]
    if args.db == "postgres" and slow:
        print("over target (median 300 ms, p95 1 s):", ", ".join(slow))
        sys.exit(1)


if __name__ == "__main__":
    main()
