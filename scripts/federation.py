"""`make federation`: the three bureaus as three EcoFlow instances on this machine, talking over the
exchange (BJ on 127.0.0.1:5001, TJ on :5002, HE on :5003), each with its own SQLite database, its
own demo key pair and the demo data of its bureau, under instance/federation/. Ctrl+C stops them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecoflow.exchange.trust import new_private_key, public_key_text  # noqa: E402

PORTS = {"BJ": 5001, "TJ": 5002, "HE": 5003}


def write_configs(root: Path, urls: dict[str, str], **settings) -> dict[str, Path]:
    """Per bureau: a key pair, and a config file naming the bureau, its key and its peers."""
    keys = {}
    for code in urls:
        path = root / code / "keys" / f"{code}.pem"
        keys[code] = public_key_text(new_private_key(path))
    configs = {}
    for code in urls:
        config = {
            "EXCHANGE_BUREAUS": [code],
            "EXCHANGE_KEYS_DIR": str(root / code / "keys"),
            "EVIDENCE_DIR": str(root / code / "evidence"),  # each bureau's files its own: a peer fetches by hash
            "EXCHANGE_PEERS": {c: {"url": url, "public_key": keys[c]} for c, url in urls.items() if c != code},
            "SECRET_KEY": f"demo-secret-{code}-{os.urandom(8).hex()}",
            "HISTORY_KEY": "demo-history-key-shared-by-the-three-bureaus",
            **settings,
        }
        configs[code] = root / code / "config.json"
        configs[code].write_text(json.dumps(config, indent=2))
    return configs


def environment(root: Path, code: str) -> dict:
    return {**os.environ, "ECOFLOW_CONFIG": str(root / code / "config.json"),
            "DATABASE_URL": f"sqlite:///{root / code / 'ecoflow.sqlite'}", "ECOFLOW_SCHEDULER": "1"}  # fmt: skip


def main():
    root = ROOT / "instance" / "federation"
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    if not root.exists():
        write_configs(root, {code: f"http://127.0.0.1:{port}" for code, port in PORTS.items()},
                      EXCHANGE_INTERVAL_SECONDS=2)  # fmt: skip
        for code in PORTS:
            for args in (["db", "upgrade"], ["ecoflow", "seed-demo"]):
                subprocess.run([*flask, *args], cwd=ROOT, env=environment(root, code), check=True)
    servers = []
    for code, port in PORTS.items():
        command = [*flask, "run", "--host", "127.0.0.1", "--port", str(port)]
        servers.append(subprocess.Popen(command, cwd=ROOT, env=environment(root, code)))
    print("Federation: BJ http://127.0.0.1:5001  TJ http://127.0.0.1:5002  HE http://127.0.0.1:5003 "
          "(password for every demo officer: ecoflow-demo; state in instance/federation/)", flush=True)  # fmt: skip
    try:
        for server in servers:
            server.wait()
    except KeyboardInterrupt:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            server.wait()


if __name__ == "__main__":
    main()
