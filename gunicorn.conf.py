"""gunicorn's settings when started in this directory (`gunicorn wsgi:app`, see the README)."""

import os

worker_class = "gthread"
# One thread per worker, a worker per core and one more (for the moments a worker waits on the
# database): a request is short and busy in Python, and threads of one process only take turns on the
# interpreter lock (with 4 threads a lifecycle costs 10% more CPU, bench/README.md).
threads = 1
workers = (os.cpu_count() or 1) + 1
keepalive = 30


def post_worker_init(worker):
    """Each worker loads the address parser's tables before its first request, not during it."""
    from ecoflow.routing import warm_up

    warm_up()
