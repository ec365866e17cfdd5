"""What operators and load balancers ask: is the process up (/healthz), may it take traffic
(/readyz: the database answers, its schema is at the migrations' head, the scheduler and the
exchange deliverer renewed their leases within their TTL), and whether the scheduler has stopped
(the red banner on the supervisors' and admins' pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from .exchange.outbox import exchange_status
from .extensions import db
from .norm.current import get_norm
from .notifications.models import Notification
from .scheduling import EXCHANGE_LEASE, LEASE, Lease
from .timeutil import SHANGHAI, utcnow

bp = Blueprint("health", __name__)


@dataclass
class LeaseState:
    name: str
    ttl: timedelta
    renewed_at: datetime | None  # None: never held

    def stale(self, now: datetime) -> bool:
        return self.renewed_at is None or self.renewed_at + self.ttl < now


def lease_states() -> dict[str, LeaseState]:
    """The scheduler's and the exchange deliverer's leases: when each was last renewed, and its TTL."""
    config = current_app.config
    ttls = {
        LEASE: timedelta(seconds=3 * config["SCHEDULER_INTERVAL_SECONDS"]),
        EXCHANGE_LEASE: timedelta(seconds=3 * config["EXCHANGE_INTERVAL_SECONDS"]),
    }
    expiries = dict(db.session.execute(select(Lease.name, Lease.expires_at).where(Lease.name.in_(ttls))).all())
    return {
        name: LeaseState(name, ttl, expiries[name] - ttl if name in expiries else None) for name, ttl in ttls.items()
    }


def scheduler_stopped_since(now: datetime) -> datetime | None:
    """When the scheduler last renewed its lease, if it has held it before and not within its TTL since."""
    state = lease_states()[LEASE]
    return state.renewed_at if state.renewed_at is not None and state.stale(now) else None


def _migrations_head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(current_app.config["MIGRATIONS_DIR"]))
    return ScriptDirectory.from_config(config).get_current_head()


@bp.get("/healthz")
def healthz():
    """The process is up; asks nothing of the database."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    now, failed, checks = utcnow(), {}, {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any fault of the database is what this check reports
        db.session.rollback()
        failed["database"] = f"the database does not answer: {type(exc).__name__}"
        return jsonify(status="unavailable", failed=failed, checks=checks), 503
    current = MigrationContext.configure(db.session.connection()).get_current_revision()
    head = current_app.extensions.setdefault("ecoflow.migrations_head", _migrations_head())
    if current != head:
        failed["migrations"] = f"the schema is at {current}, the migrations at {head}: run `flask db upgrade`"
    for name, state in lease_states().items():
        key = "scheduler" if name == LEASE else "exchange"
        if state.stale(now):
            since = state.renewed_at.isoformat() if state.renewed_at else "never"
            failed[key] = f"lease '{name}' not renewed within {int(state.ttl.total_seconds())} s (last: {since})"
        checks[key] = {"renewed_at": state.renewed_at.isoformat() if state.renewed_at else None}
    today = now.astimezone(SHANGHAI).date()
    status = exchange_status()
    report = {
        "outbox": {
            peer: {"backlog": c["outbox"]["queued"] + c["outbox"]["failing"], "dead": c["outbox"]["dead"]}
            for peer, c in status["peers"].items()
        },
        "notices_queued": db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.sent_at.is_(None))
        ),
        "holidays_unknown": get_norm().calendar.unknown_years(today),
    }
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks, "report": report}
    return jsonify(body), 503 if failed else 200
