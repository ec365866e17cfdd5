"""The scheduler: runs the sweep (and sends notices) every minute, and delivers the exchange's
outbox. APScheduler keeps its jobs in memory, so one process per database runs them, holding a
lease in the database."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import String, or_, update
from sqlalchemy.orm import Mapped, mapped_column

from .assessment.hotspots import raise_alerts
from .escalation.jobs import sweep
from .exchange.outbox import deliver_outbox
from .extensions import db, dialect_insert
from .notifications.services import deliver_pending
from .sqltypes import UTCDateTime
from .timeutil import utcnow
from .transaction import unit_of_work

log = logging.getLogger(__name__)

LEASE = "scheduler"
EXCHANGE_LEASE = "exchange"


class Lease(db.Model):
    """Who runs the scheduled jobs, until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def hold_lease(name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take or renew the lease; False while another holder's lease runs. Commits."""
    with unit_of_work():
        renewed = db.session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
        taken = (
            renewed == 1
            or db.session.execute(
                dialect_insert(Lease)
                .values(name=name, holder=holder, expires_at=now + ttl)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(Lease.name)
            ).scalar()
            is not None
        )
    return taken


def run_jobs(app, holder: str, now: datetime | None = None) -> list[dict]:
    """One tick: the sweep, the hotspot alerts, then the notices they wrote. Does nothing without the lease."""
    with app.app_context():
        now = now or utcnow()
        interval = app.config["SCHEDULER_INTERVAL_SECONDS"]
        if not hold_lease(LEASE, holder, timedelta(seconds=3 * interval), now):
            log.debug("Scheduler lease held elsewhere; %s stands by", holder)
            return []
        fired = sweep(now)
        try:
            with unit_of_work():
                raise_alerts(now)
        except Exception:  # a fault in the hotspot alerts must not hold up the notices
            log.exception("Hotspot alerts failed at %s; the next tick tries again", now)
        with unit_of_work():
            deliver_pending(now)
        return fired


def run_exchange(app, holder: str, now: datetime | None = None) -> int:
    """One tick of the exchange: deliver the due outbox messages. Does nothing without its lease."""
    with app.app_context():
        now = now or utcnow()
        ttl = timedelta(seconds=3 * app.config["EXCHANGE_INTERVAL_SECONDS"])
        if not hold_lease(EXCHANGE_LEASE, holder, ttl, now):
            return 0
        return deliver_outbox(now)


def make_scheduler(app, blocking: bool):
    """A scheduler that runs the jobs every SCHEDULER_INTERVAL_SECONDS, starting now."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=UTC)
    scheduler.add_job(
        run_jobs, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], args=[app, holder],
        id="sweep", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC),
    )  # fmt: skip
    # The exchange on its own, shorter beat: a peer that comes back gets its backlog soon.
    scheduler.add_job(
        run_exchange, "interval", seconds=app.config["EXCHANGE_INTERVAL_SECONDS"], args=[app, holder],
        id="exchange", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC),
    )  # fmt: skip
    return scheduler


def init_scheduler(app):
    """Start the jobs inside this process when configured to (the development server of `make run`)."""
    if not app.config["SCHEDULER_IN_PROCESS"]:
        return
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return  # the reloader's watcher process serves nothing; its child runs the jobs
    make_scheduler(app, blocking=False).start()
    log.info("Scheduler running in this process (lease '%s' keeps it to one per database)", LEASE)
