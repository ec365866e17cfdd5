"""The sweep: one indexed query for what is due, each item in its own savepoint, commit per batch."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from ecoflow.complaints.models import Clock, Complaint
from ecoflow.errors import ApiError
from ecoflow.extensions import db
from ecoflow.transaction import is_deadlock, unit_of_work

from .models import Whistle
from .rungs import fire_due_rungs
from .services import escalate_whistle

log = logging.getLogger(__name__)

BATCH = 200


def sweep(now: datetime) -> list[dict]:
    """Fire every rung due by `now` and escalate every whistle not reported to in time.
    Safe to run in several processes at once and to re-run after a crash: each rung fires once."""
    # Each due row comes with its case, locked too: the case's timeline is written by one sweeper.
    fired = _drain(Clock, Clock.next_rung_at, now, _fire_clock, Clock.complaint)
    fired += _drain(Whistle, Whistle.escalate_at, now, _escalate, Whistle.complaint)
    return fired


def _fire_clock(clock: Clock, now: datetime) -> list[dict]:
    case_no = clock.complaint.case_no
    return [{"case_no": case_no, "clock": clock.kind, "rung": rung} for rung in fire_due_rungs(clock, now)]


def _escalate(whistle: Whistle, now: datetime) -> list[dict]:
    case_no = whistle.complaint.case_no
    return [{"case_no": case_no, "whistle": whistle.id, "rung": "escalate", "summoned": p}
            for p in escalate_whistle(whistle, now)]  # fmt: skip


def _drain(model, due_column, now, handle, case) -> list[dict]:
    """Take due rows with their cases a batch at a time, locked so that a second sweeper takes others."""
    done, skipped = [], set()
    while True:
        query = (
            select(model)
            .join(case)
            .options(contains_eager(case))
            .where(due_column <= now)
            .order_by(due_column, model.id)
            .limit(BATCH)
        )
        if skipped:
            query = query.where(model.id.not_in(skipped))
        with unit_of_work():
            rows = db.session.scalars(query.with_for_update(skip_locked=True, of=[model, Complaint])).all()
            if not rows:
                return done
            done.extend(_handle_batch(rows, model, now, handle, skipped))


def _handle_batch(rows, model, now, handle, skipped: set) -> list[dict]:
    """Each row in its own savepoint; a row that cannot be handled now is left in `skipped`."""
    done = []
    for row in rows:
        try:
            with db.session.begin_nested():
                results = handle(row, now)
        except (StaleDataError, IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and not is_deadlock(exc):
                raise
            # The case changed under us (an officer acted), or a second sweeper holds counts this item
            # would lock (PostgreSQL chose this item to break the deadlock; its locks wait for our
            # commit): the next sweep takes it again.
            log.info("Sweep skipped %s %s for now: %s", model.__name__, row.id, exc)
            skipped.add(row.id)
            continue
        except ApiError as exc:
            # A rule refused what a rung does (e.g. a peer missing from the registry): nothing of it
            # was kept, so it fires on a later sweep; the rest of the batch goes on meanwhile.
            log.warning("Sweep could not handle %s %s, left for the next sweep: %s (%s)",
                        model.__name__, row.id, exc.message, exc.code)  # fmt: skip
            skipped.add(row.id)
            continue
        for result in results:
            log.info("Sweep fired %s", result)
        done.extend(results)
    return done
