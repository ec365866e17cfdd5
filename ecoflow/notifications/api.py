"""API: the caller's notification inbox."""

from flask import Blueprint, g, request

from ecoflow.officers.auth import login_required
from ecoflow.rest import load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .schemas import inbox_query_schema, mark_read_query_schema, notifications_schema

bp = Blueprint("notifications_api", __name__, url_prefix="/api/v1/notifications")


@bp.get("")
@login_required
def list_notifications():
    query = load(inbox_query_schema, request.args)
    items, total, unread = services.inbox(g.officer.id, query["unread"], query["page"], query["per_page"])
    return {"items": notifications_schema.dump(items), "total": total, "unread": unread}


@bp.post("/<int:notification_id>/read")
@login_required
@committed
def mark_read(notification_id):
    services.mark_read(g.officer.id, notification_id, utcnow())
    return {"read": notification_id}


@bp.post("/read")
@login_required
@committed
def mark_all_read():
    """Every unread notice of the caller read; `?kind=` only those of one kind (e.g. `overdue`)."""
    kind = load(mark_read_query_schema, request.args)["kind"]
    count = services.mark_read(g.officer.id, None, utcnow(), kind=kind)
    return {"read": count}
