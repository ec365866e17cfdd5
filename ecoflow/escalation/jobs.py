"""The sweep: one indexed query for what is due, each item in its own savepoint, commit per batch."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from ecoflow.casework.engine import perform_action
from ecoflow.complaints.models import LEAD_CHANNEL, Clock, Complaint
from ecoflow.errors import ApiError
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
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
    fired += close_waiting_leads(now)
    return fired


def close_waiting_leads(now: datetime) -> list[dict]:
    """Received leads answered to their origin that heard nothing from it for the wait of
    workflows/exchange.yaml (lead.closes_after) close by themselves (close_lead)."""
    norm = get_norm()
    wait = norm.lead_closes_after
    waiting = (
        select(Complaint)
        .where(Complaint.state.in_(norm.actions["close_lead"].sources), Complaint.channel == LEAD_CHANNEL)
        .order_by(Complaint.updated_at, Complaint.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Complaint)
    )
    done = []
    with unit_of_work():
        due = [c for c in db.session.scalars(waiting) if norm.calendar.add(c.updated_at, wait) <= now]
        for complaint in due:
            reason = f"移送方{wait.amount}{_UNITS.get(wait.unit, wait.unit)}未告知办结，本案自行办结。"
            with db.session.begin_nested():
                perform_action(None, complaint, "close_lead", {"reason": reason}, now)
            log.info("Sweep closed %s: its origin said nothing for %s", complaint.case_no, wait)
            done.append({"case_no": complaint.case_no, "rung": "close_lead"})
    return done


_UNITS = {"natural_days": "日", "working_days": "个工作日", "hours": "小时", "minutes": "分钟"}


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
