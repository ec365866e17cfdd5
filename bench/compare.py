#!/usr/bin/env python3
"""A/B of two revisions with bench/lifecycle.py on a machine whose speed drifts: the runs alternate
(base, head, base, head, ...) so that both sides see the same drift, and the medians are compared.

    .venv/bin/python bench/compare.py --base d66c46f --rounds 3 -- --db postgres --seconds 15 --intake-seconds 5

`--base` and `--head` are git revisions (head: the working tree when omitted); each is exported with
`git archive` and served with this checkout's venv through lifecycle.py's --app-root. Everything
after `--` goes to lifecycle.py. Prints, per side, the median and range of lifecycles/s, server, PostgreSQL
and client CPU ms per lifecycle and intakes/s, and head's change against base.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from lifecycle import ROOT

FIGURES = (
    ("lifecycles/s", lambda r: r["lifecycle"]["per_second"]),
    ("srv ms", lambda r: r["lifecycle"]["server_cpu_ms_per_unit"]),
    ("pg ms", lambda r: r["lifecycle"]["pg_cpu_ms_per_unit"]),
    ("cli ms", lambda r: r["lifecycle"]["client_cpu_ms_per_unit"]),
    ("capacity/s", lambda r: r["lifecycle"]["cpu_bound_capacity_per_second"]),
    ("intakes/s", lambda r: r["intake"]["per_second"]),
)


def export(revision: str, into: Path) -> Path:
    """The tree of `revision` in a directory of its own."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run(app_root: Path, tag: str, passthrough: list[str]) -> dict:
    command = [sys.executable, str(ROOT / "bench" / "lifecycle.py"), "--app-root", str(app_root), "--tag", tag]
    output = subprocess.run([*command, *passthrough], capture_output=True, text=True).stdout
    found = re.search(r"^results: (\S+)", output, re.MULTILINE)
    if not found:
        raise SystemExit(f"lifecycle.py gave no results:\n{output[-2000:]}")
    return json.loads((ROOT / found.group(1)).read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--head", help="git revision (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("passthrough", nargs=argparse.REMAINDER, help="-- then lifecycle.py's options")
    args = parser.parse_args(argv)
    passthrough = args.passthrough[1:] if args.passthrough[:1] == ["--"] else args.passthrough

    workdir = Path(tempfile.mkdtemp(prefix="ecoflow-compare-"))
    try:
        sides = {"base": export(args.base, workdir / "base")}
        sides["head"] = export(args.head, workdir / "head") if args.head else ROOT
        results = {side: [] for side in sides}
        for round_ in range(1, args.rounds + 1):
            for side, root in sides.items():
                result = run(root, f"{side}{round_}", passthrough)
                results[side].append(result)
                print(f"round {round_} {side}: {result['lifecycle']['per_second']:.1f} lifecycles/s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nmedians over {args.rounds} alternating rounds (range in brackets); base {args.base}, "
          f"head {args.head or 'working tree'}")  # fmt: skip
    for label, figure in FIGURES:
        cells, medians = [], {}
        for side, runs in results.items():
            values = [figure(r) for r in runs]
            medians[side] = statistics.median(values)
            cells.append(f"{side} {medians[side]:7.1f} [{min(values):.1f}–{max(values):.1f}]")
        change = (medians["head"] - medians["base"]) / medians["base"] * 100 if medians["base"] else 0
        print(f"{label:<13} {'   '.join(cells)}   head {change:+.0f}%")


if __name__ == "__main__":
    main()
