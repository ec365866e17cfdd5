"""gunicorn's settings when started in this directory (`gunicorn wsgi:app`, see the README)."""

import os

worker_class = "gthread"
# A worker per core the process may run on and one more, two threads each. A request is short and busy
# in Python, and threads of one process take turns on the interpreter lock (with 4 threads a lifecycle
# costs 5–10% more CPU, bench/README.md); the second thread keeps a worker serving while a request waits
# on a peer bureau (a history question waits up to EXCHANGE_QUERY_TIMEOUT_SECONDS).
workers = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) + 1
threads = 2
keepalive = 30


def post_worker_init(worker):
    """Each worker loads the address parser's tables before its first request, not during it."""
    from ecoflow.routing import warm_up

    warm_up()
