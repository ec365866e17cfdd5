"""Peak memory of a gunicorn worker while it takes a 200 MB attachment (a video) through
POST /api/v1/complaints/<case_no>/attachments: the upload streams to disk and into the storage, so
the worker's peak RSS must not grow with the file. The client streams the body too.

    .venv/bin/python bench/evidence_upload.py --mb 200
    .venv/bin/python bench/evidence_upload.py --mb 20     # the same growth, a tenth of the file

See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from lifecycle import ROOT, Client, Server, free_port, prepare_database

CHUNK = 1024 * 1024
# An MP4's first box (ftyp): what the sniffing reads; the rest of the file is filler.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def status_kb(pid: int, field: str) -> int:
    """A line of /proc/<pid>/status in kB: VmRSS (now) or VmHWM (the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class Sampler(threading.Thread):
    """The worker's RSS, read every 5 ms until stopped: its highest value."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.highest, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.highest = max(self.highest, status_kb(self.pid, "VmRSS"))
            time.sleep(0.005)


def worker_of(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def upload(port: int, token: str, case_no: str, size: int) -> tuple[int, dict, float]:
    """Send a `size`-byte video as multipart, a chunk at a time; (status, body, seconds)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nvideo\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode()  # fmt: skip
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.monotonic()
    conn.putrequest("POST", f"/api/v1/complaints/{case_no}/attachments")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head + MP4_HEAD)
    left, filler = size - len(MP4_HEAD), b"\x5a" * CHUNK
    while left > 0:
        conn.send(filler[: min(CHUNK, left)])
        left -= CHUNK
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="the file's size in MiB (video: at most 200)")
    parser.add_argument("--app-root", type=Path, default=ROOT)
    args = parser.parse_args()
    args.workers, args.threads = 1, 2

    with tempfile.TemporaryDirectory(prefix="ecoflow-bench-evidence-") as work:
        workdir = Path(work)
        os.environ["ECOFLOW_EVIDENCE_DIR"] = str(workdir / "evidence")
        os.environ["TMPDIR"] = str(workdir)  # where werkzeug spools the upload: not a RAM-backed /tmp
        url = prepare_database("sqlite", "", workdir)
        port = free_port()
        server = Server(args, url, port, workdir / "gunicorn.log")
        try:
            tokens = server.wait_ready(port, 30)
            client = Client(port, 30)
            listed = client.json("list", "GET", "/api/v1/complaints?state=handling&officer=bj-officer", 200,
                                 token=tokens["bj-supervisor"])  # fmt: skip
            case_no = listed["items"][0]["case_no"]
            client.close()
            officer = client_token(port, "bj-officer")
            worker = worker_of(server.pid)
            rss_before, peak_before = status_kb(worker, "VmRSS"), status_kb(worker, "VmHWM")
            sampler = Sampler(worker)
            sampler.start()
            status, body, seconds = upload(port, officer, case_no, args.mb * CHUNK)
            sampler.stop.set()
            sampler.join()
            peak_after = status_kb(worker, "VmHWM")
        finally:
            server.stop()
    if status != 201:
        raise SystemExit(f"upload refused: {status} {body}")
    print(f"uploaded {args.mb} MiB in {seconds:.1f} s ({args.mb / seconds:.0f} MiB/s), sha256 {body['sha256'][:12]}…")
    print(f"worker RSS before: {rss_before / 1024:.1f} MiB; peak before: {peak_before / 1024:.1f} MiB; "
          f"peak after: {peak_after / 1024:.1f} MiB")  # fmt: skip
    print(f"RSS sampled every 5 ms during the upload: at most {sampler.highest / 1024:.1f} MiB, "
          f"growth {(sampler.highest - rss_before) / 1024:.1f} MiB over the RSS before")  # fmt: skip
    print(f"peak RSS (VmHWM) growth: {(peak_after - peak_before) / 1024:.1f} MiB")


def client_token(port: int, username: str) -> str:
    client = Client(port, 30)
    try:
        body = {"username": username, "password": "ecoflow-demo"}
        return client.json("login", "POST", "/api/v1/auth/token", 200, body)["token"]
    finally:
        client.close()


if __name__ == "__main__":
    main()
