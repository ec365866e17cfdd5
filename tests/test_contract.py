"""The API keeps its contract (GET /api/v1/openapi.json): schemathesis generates requests from the
document for every operation and sends them over HTTP to a live app, signed in as an officer who
holds every role; any 5xx, or any answer that breaks its documented schema, fails the test.

Bounded (a few examples per operation, a time budget) so that `make test` stays quick;
bench/contract.py runs the same for longer and reports how many requests it sent. It runs on one of
CI's two database passes (the `contract` mark, .ci/run)."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from .conftest import PASSWORD

# The operations a run leaves alone: logging out would end the token every other request uses.
EXCLUDED = ("/api/v1/auth/logout",)
CHECKS = "not_a_server_error,response_schema_conformance"


def run_schemathesis(base: str, token: str, report_dir, *, examples: int, max_time: int, seed: int = 19):
    """Run schemathesis's CLI against the live app; (exit code, output, requests sent by status class)."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/v1/openapi.json",
        "--checks", CHECKS, "--max-examples", str(examples), "--max-time", str(max_time), "--seed", str(seed),
        "--header", f"Authorization: Bearer {token}", "--request-timeout", "30",
        # The token above on every request: no generated Authorization of its own, no examples kept.
        "--generation-with-security-parameters", "false", "--generation-database", "none",
        "--workers", "1", "--no-color", "--report", "ndjson", "--report-dir", str(report_dir),
        *[arg for path in EXCLUDED for arg in ("--exclude-path", path)],
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=max_time + 300, check=False)
    return done.returncode, done.stdout + done.stderr, requests_sent(report_dir)


def requests_sent(report_dir) -> dict[str, int]:
    """How many requests the run sent, by the answer's status class (2xx, 4xx, 5xx…), from its NDJSON events."""
    sent: dict[str, int] = {}
    for path in report_dir.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            finished = json.loads(line).get("ScenarioFinished")
            for interaction in (finished or {}).get("recorder", {}).get("interactions", {}).values():
                response = interaction.get("response") or {}
                status = f"{str(response.get('status_code', 'x'))[0]}xx" if response else "no answer"
                sent[status] = sent.get(status, 0) + 1
    return sent


def fuzz_token(live_server, make_officer) -> str:
    """An officer of Beijing holding every role, and a token of theirs."""
    make_officer("fuzz", ["intake", "dispatcher", "officer", "supervisor", "leader", "admin"], unit="tongzhou")
    answer = requests.post(f"{live_server}/api/v1/auth/token", json={"username": "fuzz", "password": PASSWORD},
                           timeout=10)  # fmt: skip
    return answer.json()["token"]


def test_every_operation_keeps_its_contract(live_server, make_officer, staff, tmp_path):
    token = fuzz_token(live_server, make_officer)
    code, output, sent = run_schemathesis(live_server, token, tmp_path, examples=3, max_time=60)
    assert code == 0, output[-20000:]
    assert sum(sent.values()) > 200, (sent, output[-3000:])  # it did run
