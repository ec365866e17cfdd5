"""API: register complaints, read them, take the norm's actions on them."""

from flask import Blueprint, current_app, g, jsonify, request, url_for

from ecoflow.casework import access, engine, trail
from ecoflow.intake.models import centres_remembered
from ecoflow.norm.current import get_norm
from ecoflow.officers.auth import login_required
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import history, intake, queries
from .schemas import (
    ComplaintContext,
    complaint_filter_schema,
    complaint_schema,
    complaints_schema,
    duplicates_schema,
    events_schema,
)

bp = Blueprint("complaints_api", __name__, url_prefix="/api/v1")


def _dump(complaint, purpose: str):
    """The complaint as the caller may see it; an unmasked view is logged."""
    now = utcnow()
    unmasked = access.reveal_personal_data(g.officer, complaint, purpose, now)
    with ComplaintContext({"viewer": g.officer, "unmasked": unmasked, "now": now}):
        return complaint_schema.dump(complaint)


@bp.post("/complaints")
@login_required
@committed
def create_complaint():
    data = load(current_app.extensions["ecoflow.schemas"]["create"], json_body())
    complaint, created = intake.register_complaint(g.officer, data, utcnow())
    body = _dump(complaint, "register")
    return body, (201 if created else 200), {"Location": url_for(".get_complaint", case_no=body["case_no"])}


@bp.get("/complaints")
@login_required
def list_complaints():
    filters = load(complaint_filter_schema, request.args)
    now = utcnow()
    items, total = queries.list_complaints(g.officer, filters, now)
    # Lists always mask personal data: opening one case is what shows (and logs) it. The actions
    # offered read each hotline centre once, not once per case of it.
    with ComplaintContext({"viewer": g.officer, "unmasked": False, "now": now}), centres_remembered():
        body = complaints_schema.dump(items)
    return {"items": body, "total": total, "page": filters["page"], "per_page": filters["per_page"]}


@bp.get("/complaints/<case_no>")
@login_required
@committed
def get_complaint(case_no):
    body = _dump(queries.get_complaint(g.officer, case_no), "view")
    return body


@bp.post("/complaints/<case_no>/actions/<action>")
@login_required
@committed
def take_action(case_no, action):
    complaint = queries.get_complaint(g.officer, case_no)
    schema = current_app.extensions["ecoflow.schemas"]["actions"].get(action)
    data = load(schema, json_body()) if schema else {}
    complaint = engine.perform_action(g.officer, complaint, action, data, utcnow())
    body = _dump(complaint, action)
    return body


@bp.get("/complaints/<case_no>/events")
@login_required
@committed
def list_events(case_no):
    complaint = queries.get_complaint(g.officer, case_no)
    now = utcnow()
    # Notes may repeat the complainant's details: unmasked only for those who may see them, and logged.
    unmasked = access.reveal_personal_data(g.officer, complaint, "timeline", now)
    with ComplaintContext({"viewer": g.officer, "unmasked": unmasked, "now": now}):
        body = events_schema.dump(trail.list_events(complaint))
    return jsonify(body)


@bp.get("/complaints/<case_no>/duplicates")
@login_required
def list_duplicates(case_no):
    complaint = queries.get_complaint(g.officer, case_no)
    return jsonify(duplicates_schema.dump(intake.find_duplicates(g.officer, complaint, utcnow())))


@bp.post("/complaints/duplicates")
@login_required
def check_duplicates():
    """The duplicates of a complaint not registered yet: the intake form's fields."""
    data = load(current_app.extensions["ecoflow.schemas"]["create"], json_body())
    return jsonify(duplicates_schema.dump(intake.find_duplicates(g.officer, data, utcnow())))


@bp.get("/complaints/<case_no>/history")
@login_required
def complaint_history(case_no):
    """信访大数据共享: earlier complaints by the same complainant or at the same place, every bureau."""
    complaint = queries.get_complaint(g.officer, case_no)
    return {"items": history.complaint_history(g.officer, complaint)}


@bp.get("/workflow")
@login_required
def get_workflow():
    return dict(get_norm().raw)
