"""Hebei's instance dying in the middle of receiving, for tests/test_federation.py: the first batch
POSTed to the exchange is applied and committed, then the process hangs before it answers, and
the test kills it there (`gunicorn tests.dying_receiver:app`)."""

import os
import time
from pathlib import Path

from wsgi import app as flask_app


def app(environ, start_response):
    if environ["PATH_INFO"].startswith("/exchange/") and environ["REQUEST_METHOD"] == "POST":
        for _ in flask_app(environ, lambda *args, **kwargs: None):  # applied; the answer never leaves
            pass
        Path(os.environ["ECOFLOW_DYING_MARK"]).touch()
        time.sleep(3600)
    return flask_app(environ, start_response)
