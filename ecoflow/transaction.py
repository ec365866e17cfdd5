"""The one owner of the transaction. A unit of work (a request, a CLI command, a scheduled job's
batch, an incoming exchange batch) is committed here when it ends and rolled back when it raises;
services only flush."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from .extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block wrote when it ends; roll all of it back when it raises."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def committed(function: Callable) -> Callable:
    """Run `function` (a view, a command) as one unit of work."""

    @wraps(function)
    def run(*args, **kwargs):
        with unit_of_work():
            return function(*args, **kwargs)

    return run


def is_deadlock(exc: OperationalError) -> bool:
    """PostgreSQL broke a deadlock by failing this statement (SQLSTATE 40P01): a retryable conflict."""
    return getattr(exc.orig, "sqlstate", None) == "40P01"


def retrying_deadlocks(function: Callable[[], T], attempts: int = 3) -> T:
    """Run `function` as one unit of work; when PostgreSQL fails it to break a deadlock, its locks go
    and it runs again from the start, up to `attempts` times in all."""
    attempt = 1
    while True:
        try:
            with unit_of_work():
                return function()
        except OperationalError as exc:
            if not is_deadlock(exc) or attempt == attempts:
                raise
            attempt += 1
            log.warning("Deadlocked with another transaction; attempt %s of %s", attempt, attempts)
