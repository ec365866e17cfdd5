"""gunicorn's settings when started in this directory (`gunicorn wsgi:app`, see the README)."""


def post_worker_init(worker):
    """Each worker loads the address parser's tables before its first request, not during it."""
    from ecoflow.routing import warm_up

    warm_up()
