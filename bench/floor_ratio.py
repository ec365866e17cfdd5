#!/usr/bin/env python3
"""Issue 14's two ratios of a lifecycle to the floor of an action, from runs made back to back:

    .venv/bin/python bench/floor_ratio.py                        # 1 round, 3 workers × 2 threads, 8 clients
    .venv/bin/python bench/floor_ratio.py --rounds 3 --workers 3 --threads 1

Each round runs bench/reference.py --only step, then bench/lifecycle.py --db postgres, with the same
gunicorn workers, threads and clients, and reads their JSON results. A lifecycle is seven requests, so
seven steps are its floor; the targets:

    ratio 1 = lifecycles/s ÷ (step req/s ÷ 7)                          ≥ 0.5
    ratio 2 = server CPU ms per lifecycle ÷ (7 × server CPU ms per step) ≤ 2.0

Prints each round and the medians (each ratio's median over the rounds, not the ratio of medians) and
writes bench/results/floor-ratio-<time>.json. Exit status 1 when a run failed or a median misses a target.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from lifecycle import RESULTS, ROOT, background_load
from reference import REQUESTS_PER_LIFECYCLE as N

TARGETS = {"ratio1": (">=", 0.5), "ratio2": ("<=", 2.0)}
COLUMNS = (  # key, header, format; every column 10 wide
    ("step_per_s", "step/s", ".0f"),
    ("step_per_s_7", "step÷7", ".1f"),
    ("lifecycles_per_s", "life/s", ".1f"),
    ("ratio1", "ratio1", ".2f"),
    ("step_srv_ms_7", "7×step ms", ".1f"),
    ("lifecycle_srv_ms", "life ms", ".1f"),
    ("ratio2", "ratio2", ".2f"),
    ("step_busiest", "busiest s", ".0%"),
    ("lifecycle_busiest", "busiest l", ".0%"),
    ("other", "other", ".0%"),
)


def run(script: str, options: list[str]) -> tuple[dict, int]:
    """Run a bench script to the end; its JSON results (named on its `results:` line) and exit status."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *options], capture_output=True, text=True)
    found = re.search(r"^results: (\S+)", done.stdout, re.MULTILINE)
    if not found:
        raise SystemExit(f"{script} gave no results (exit {done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")
    return json.loads((ROOT / found.group(1)).read_text()), done.returncode


def wait_idle(seconds: float) -> float:
    """Wait up to `seconds` for other processes to leave the CPU (below 10% busy); the load last seen."""
    give_up, load = time.monotonic() + seconds, background_load()
    while load > 0.10 and time.monotonic() < give_up:
        print(f"waiting for the machine to go idle ({load:.0%} busy) ...", flush=True)
        load = background_load(5.0)
    return load


def one_round(args) -> dict:
    common = ["--workers", str(args.workers), "--threads", str(args.threads), "--clients", str(args.clients)]
    common += ["--warmup", str(args.warmup)]
    ref, ref_status = run("reference.py", ["--only", "step", "--seconds", str(args.step_seconds), *common])
    life, life_status = run(
        "lifecycle.py",
        ["--db", "postgres", "--seconds", str(args.seconds), "--intake-seconds", str(args.intake_seconds), *common],
    )
    step, lifecycle = ref["step"], life["lifecycle"]
    row = {
        "step_per_s": step["per_second"],
        "step_per_s_7": step["per_second"] / N,
        "lifecycles_per_s": lifecycle["per_second"],
        "step_srv_ms_7": step["server_cpu_ms"] * N,
        "lifecycle_srv_ms": lifecycle["server_cpu_ms_per_unit"],
        # the larger share of the two runs' windows that unrelated processes took
        "other": max(step["other_share"], lifecycle["other_cpu_s"] / lifecycle["seconds"] / ref["machine"]["cores"]),
        "step_busiest": step["server_busiest_share"],
        "lifecycle_busiest": lifecycle["server_busiest_share"],
        "failed": bool(ref_status or life_status),
        "files": [ref["results_file"], life["results_file"]],
    }
    row["ratio1"] = row["lifecycles_per_s"] / row["step_per_s_7"]
    row["ratio2"] = row["lifecycle_srv_ms"] / row["step_srv_ms_7"]
    return row


def meets(key: str, value: float) -> bool:
    op, limit = TARGETS[key]
    return value >= limit if op == ">=" else value <= limit


def print_row(label: str, row: dict):
    cells = "".join(f"{row[key]:>10{fmt}}" for key, _, fmt in COLUMNS)
    print(f"{label:<8}{cells}" + ("  (a run had errors)" if row.get("failed") else ""), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="step then lifecycle, this many times")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (both runs)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (both runs)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (both runs)")
    parser.add_argument("--warmup", type=float, default=5, help="uncounted seconds before each measurement")
    parser.add_argument("--step-seconds", type=float, default=10, help="length of the step measurement")
    parser.add_argument("--seconds", type=float, default=15, help="length of the lifecycle phase")
    parser.add_argument("--intake-seconds", type=float, default=5, help="lifecycle.py's intake phase")
    parser.add_argument(
        "--wait-idle", type=float, default=0, help="wait up to this many seconds for an idle machine before each round"
    )
    args = parser.parse_args(argv)

    print(f"gunicorn -w {args.workers} --threads {args.threads}, {args.clients} clients; {args.rounds} round(s)")
    header = f"{'':<8}" + "".join(f"{title:>10}" for _, title, _ in COLUMNS)
    rows = []
    for round_ in range(1, args.rounds + 1):
        if args.wait_idle:
            wait_idle(args.wait_idle)
        rows.append(one_round(args))
        if round_ == 1:
            print(header)
        print_row(f"round {round_}", rows[-1])
    median = {key: statistics.median(row[key] for row in rows) for key, _, _ in COLUMNS}
    print_row("median", median)
    verdicts = {key: meets(key, median[key]) for key in TARGETS}
    for key, (op, limit) in TARGETS.items():
        print(f"{key} {median[key]:.2f} {op} {limit}: {'met' if verdicts[key] else 'NOT met'}")
    print("(step÷7, 7×step ms: seven steps, a lifecycle's requests; ms: gunicorn CPU; busiest s/l: the share of it")
    print(" the busiest gunicorn process took in the step/lifecycle run; other: CPU of unrelated processes)")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"floor-ratio-{stamp}.json"
    summary = {"config": vars(args), "rounds": rows, "median": median, "targets": TARGETS, "met": verdicts}
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    return 1 if any(row["failed"] for row in rows) or not all(verdicts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
