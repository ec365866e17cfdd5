"""deploy/ as shipped: the environment template names every setting the app reads from the
environment, and the two services start what the README says."""

from __future__ import annotations

import configparser
from pathlib import Path

from ecoflow.config import ENVIRONMENT

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / name)
    return parser


def test_the_environment_template_lists_every_setting():
    template = (DEPLOY / "ecoflow.env.example").read_text()
    named = {line.split("=", 1)[0] for line in template.splitlines() if "=" in line and not line.startswith("#")}
    assert set(ENVIRONMENT) | {"ECOFLOW_CONFIG", "ECOFLOW_BUREAUS"} <= named
    assert "ECOFLOW_ENV=production" in template


def test_one_web_service_under_gunicorn_and_one_scheduler():
    web, scheduler = unit("ecoflow-web.service"), unit("ecoflow-scheduler.service")
    assert "gunicorn" in web["Service"]["ExecStart"] and web["Service"]["ExecStart"].endswith("wsgi:app")
    assert scheduler["Service"]["ExecStart"].endswith("ecoflow scheduler")
    for service in (web, scheduler):
        assert service["Service"]["EnvironmentFile"] == "/etc/ecoflow/ecoflow.env"
        assert service["Service"]["WorkingDirectory"] == "/opt/ecoflow"  # where gunicorn.conf.py is read
