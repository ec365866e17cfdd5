"""API: the leaders' reception days (接访日) and the visitors recorded at one."""

from flask import Blueprint, current_app, g, url_for

from ecoflow.officers.auth import login_required
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import receptions
from .schemas import reception_schema, visitor_schema

bp = Blueprint("receptions_api", __name__, url_prefix="/api/v1")


def _visitor(visitor, complaint, now) -> dict:
    return {
        "id": visitor.id, **receptions.shown_visitor(g.officer, visitor, complaint, now),
        "subject": visitor.subject, "answer": visitor.answer, "case_no": complaint.case_no,
        "registered": visitor.registered, "recorded_at": visitor.recorded_at.isoformat(),
    }  # fmt: skip


def _reception(reception, now, with_visitors=True) -> dict:
    body = {
        "id": reception.id, "bureau": reception.bureau_code, "leader_name": reception.leader_name,
        "leader_title": reception.leader_title, "starts_at": reception.starts_at.isoformat(),
        "ends_at": reception.ends_at.isoformat(), "place": reception.place,
    }  # fmt: skip
    if with_visitors:
        body["visitors"] = [_visitor(v, c, now) for v, c in receptions.visitors_of(reception)]
    return body


def visitor_body_schema():
    return visitor_schema(current_app.extensions["ecoflow.schemas"]["create"])


@bp.get("/receptions")
@login_required
@committed  # showing a visitor unmasked is logged
def list_receptions():
    """The reception days of the caller's bureaus that have not ended, the soonest first."""
    now = utcnow()
    return {"items": [_reception(r, now) for r in receptions.list_receptions(g.officer, now)]}


@bp.post("/receptions")
@login_required
@committed
def publish_reception():
    data = load(reception_schema, json_body())
    now = utcnow()
    reception = receptions.publish_reception(g.officer, data, now)
    return _reception(reception, now), 201, {"Location": url_for(".list_receptions")}


@bp.post("/receptions/<int:reception_id>/visitors")
@login_required
@committed
def record_visitor(reception_id):
    reception = receptions.get_reception(g.officer, reception_id)
    data = load(visitor_body_schema(), json_body())
    now = utcnow()
    visitor, complaint = receptions.record_visitor(g.officer, reception, data, now)
    return _visitor(visitor, complaint, now), 201
