"""Three EcoFlow instances, one bureau each, as real processes on loopback (gunicorn), each with its
own SQLite database, keys and peers file: what `make federation` runs, made for tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from scripts.federation import write_configs

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "ecoflow-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def instance_database(root: Path, code: str) -> str:
    """SQLite in the instance's directory; with TEST_DATABASE_URL on PostgreSQL, a fresh database of
    its own beside that one (<name>_fed_<code>), so that the suite runs the federation on both."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{root / code / 'ecoflow.sqlite'}"
    url = make_url(base)
    name = f"{url.database}_fed_{code.lower()}"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_instance_database(uri: str):
    if uri.startswith("postgresql"):
        url = make_url(uri)
        engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        engine.dispose()


class Instance:
    def __init__(self, federation, code):
        self.code, self.port = code, free_port()
        self.dir = federation.root / code
        self.database = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.tokens = {}
        self.scheduler = True

    @property
    def env(self):
        return {**os.environ, "ECOFLOW_CONFIG": str(self.dir / "config.json"),
                "DATABASE_URL": self.database,
                "ECOFLOW_SCHEDULER": "1" if self.scheduler else "0"}  # fmt: skip

    def prepare(self) -> subprocess.Popen:
        """Migrate and load the demo data of its bureau, in the background."""
        flask = f"{BIN / 'flask'} --app wsgi"
        return subprocess.Popen(f"{flask} db upgrade && {flask} ecoflow seed-demo", shell=True, cwd=ROOT,
                                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def start(self, app="wsgi:app", workers=1):
        with open(self.dir / "server.log", "ab") as log:  # the server keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [BIN / "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", "4",
                 "-b", f"127.0.0.1:{self.port}", app],
                cwd=ROOT, env={**self.env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        wait_for(lambda: self._answers(), f"{self.code} to start")

    def _answers(self):
        try:
            urllib.request.urlopen(self.url + "/api/v1/workflow", timeout=1)
        except urllib.error.HTTPError:
            return True  # 401: up
        except OSError:
            assert self.process.poll() is None, (self.dir / "server.log").read_text()[-3000:]
            return False
        return True

    def kill(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def call(self, method, path, user=None, body=None):
        headers = {"Content-Type": "application/json"}
        if user:
            if user not in self.tokens:
                self.tokens[user] = self.call("POST", "/api/v1/auth/token", body={
                    "username": user, "password": PASSWORD})["token"]  # fmt: skip
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()}") from None

    def fetch(self, path, user) -> bytes:
        """GET of a file (not JSON) as `user`."""
        self.call("GET", "/api/v1/workflow", user)  # a token for the user
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        request = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def upload(self, case_no, user, content: bytes, name: str, kind: str, caption: str) -> dict:
        """POST of an attachment (multipart) as `user`."""
        self.call("GET", "/api/v1/workflow", user)
        boundary = "ecoflow-test-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'.encode()
                 for field, value in (("kind", kind), ("caption", caption))]  # fmt: skip
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")  # fmt: skip
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Authorization": f"Bearer {self.tokens[user]}",
                   "Content-Type": f"multipart/form-data; boundary={boundary}"}  # fmt: skip
        request = urllib.request.Request(self.url + f"/api/v1/complaints/{case_no}/attachments", data=body,
                                         headers=headers, method="POST")  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def act(self, case_no, action, user, **fields):
        version = self.call("GET", f"/api/v1/complaints/{case_no}", user)["version"]
        return self.call("POST", f"/api/v1/complaints/{case_no}/actions/{action}", user,
                         {"version": version, **fields})  # fmt: skip


class Federation:
    def __init__(self, root: Path, codes=("BJ", "TJ", "HE")):
        self.root = root
        self.instances = {code: Instance(self, code) for code in codes}
        write_configs(
            root,
            {code: instance.url for code, instance in self.instances.items()},
            PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
            EXCHANGE_INTERVAL_SECONDS=0.2,
            EXCHANGE_BACKOFF_SECONDS=0.2,
            EXCHANGE_BACKOFF_MAX_SECONDS=0.5,
            EXCHANGE_MAX_ATTEMPTS=1000,
        )
        for code, instance in self.instances.items():
            instance.database = instance_database(root, code)
        preparing = [instance.prepare() for instance in self.instances.values()]
        for process in preparing:
            assert process.wait() == 0, "preparing an instance failed"

    def __getitem__(self, code) -> Instance:
        return self.instances[code]

    def stop(self):
        for instance in self.instances.values():
            instance.kill()
            drop_instance_database(instance.database)


def wait_for(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
