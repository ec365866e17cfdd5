"""API: whistles and their 报到, and the supervision board (overdue cases, whistles, ledger)."""

from flask import Blueprint, g, jsonify, request

from ecoflow.officers.auth import login_required
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .schemas import (
    close_whistle_schema,
    ledger_schema,
    overdue_schema,
    report_in_schema,
    whistle_filter_schema,
    whistle_schema,
    whistles_schema,
)

bp = Blueprint("escalation_api", __name__, url_prefix="/api/v1")


@bp.get("/whistles")
@login_required
def list_whistles():
    filters = load(whistle_filter_schema, request.args)
    return jsonify(whistles_schema.dump(services.list_whistles(g.officer, filters)))


@bp.get("/whistles/<int:whistle_id>")
@login_required
def get_whistle(whistle_id):
    return whistle_schema.dump(services.get_whistle(g.officer, whistle_id))


@bp.post("/whistles/<int:whistle_id>/report-in")
@login_required
@committed
def report_in(whistle_id):
    data = load(report_in_schema, json_body())
    whistle = services.get_whistle(g.officer, whistle_id)
    services.report_in(g.officer, whistle, data["who_will_act"], utcnow())
    body = whistle_schema.dump(whistle)
    return body


@bp.post("/whistles/<int:whistle_id>/close")
@login_required
@committed
def close_whistle(whistle_id):
    data = load(close_whistle_schema, json_body())
    whistle = services.get_whistle(g.officer, whistle_id)
    services.close_whistle(g.officer, whistle, data["joint_action"], utcnow())
    body = whistle_schema.dump(whistle)
    return body


@bp.get("/supervision/overdue")
@login_required
def supervision_overdue():
    return jsonify(overdue_schema.dump(services.overdue_clocks(g.officer, utcnow())))


@bp.get("/supervision/whistles")
@login_required
def supervision_whistles():
    whistles = services.list_whistles(g.officer, {"state": "open", "unreported": True})
    return jsonify(whistles_schema.dump(whistles))


@bp.get("/supervision/unvisited")
@login_required
@committed  # ends the read: on SQLite every transaction holds the write lock until it ends
def supervision_unvisited():
    """下访: key cases on the ledger whose 包案 leader has not visited within the period."""
    rows = services.unvisited(g.officer, utcnow())
    leaders = services.ledger_leaders([c for c, _at in rows])
    return jsonify([
        {"case_no": c.case_no, "since": at.isoformat(), "leaders": [o.username for o in named]}
        for (c, at), named in zip(rows, leaders, strict=True)
    ])  # fmt: skip


@bp.get("/supervision/ledger")
@login_required
def supervision_ledger():
    include_closed = request.args.get("include_closed", "").lower() in ("1", "true", "yes")
    return jsonify(ledger_schema.dump(services.ledger(g.officer, include_closed)))
