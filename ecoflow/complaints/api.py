"""API: register complaints, read them, take the norm's actions on them."""

from flask import Blueprint, Response, current_app, g, jsonify, request, send_file, url_for

from ecoflow.casework import access, engine, trail
from ecoflow.exports import Workbook, csv_text
from ecoflow.intake.models import centres_remembered
from ecoflow.norm.current import get_norm
from ecoflow.officers.auth import login_required
from ecoflow.rest import json_body, load
from ecoflow.timeutil import SHANGHAI, utcnow
from ecoflow.transaction import committed

from . import history, intake, queries, search
from .schemas import (
    ComplaintContext,
    complaint_filter_schema,
    complaint_schema,
    complaints_schema,
    duplicates_schema,
    events_schema,
    filter_args,
    saved_search_create_schema,
    saved_search_schema,
    saved_searches_schema,
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
    """案件查询: every case of the caller's bureaus, open or closed, filtered, sorted, paged, with the total."""
    filters = load(complaint_filter_schema, filter_args(request.args))
    now = utcnow()
    cap = current_app.config["SEARCH_COUNT_CAP"]
    items, total, more = search.search_complaints(g.officer, filters, now, cap)
    # Lists always mask personal data: opening one case is what shows (and logs) it. The actions
    # offered read each hotline centre once, not once per case of it.
    with ComplaintContext({"viewer": g.officer, "unmasked": False, "now": now}), centres_remembered():
        body = complaints_schema.dump(items)
    return {
        "items": body, "total": total, "total_is_lower_bound": more, "page": filters["page"],
        "per_page": filters["per_page"],
    }  # fmt: skip


@bp.get("/complaints/export.<any(csv, xlsx):kind>")
@login_required
def export_complaints(kind):
    """The cases a search finds as CSV or Excel, masked as lists show them, at most access.yaml's export_max_rows."""
    filters = load(complaint_filter_schema, filter_args(request.args))
    return search_export(g.officer, filters, kind)


def search_export(officer, filters: dict, kind: str):
    """The download of a search (the API's and the page's)."""
    now = utcnow()
    cap = get_norm().access["export_max_rows"]
    complaints, total = search.export_complaints(officer, filters, now, cap)
    rows = search.export_rows(complaints, total, cap)
    name = f"cases-{now.astimezone(SHANGHAI):%Y%m%d-%H%M}.{kind}"
    if kind == "csv":
        # With a byte-order mark, so that Excel reads the Chinese as UTF-8.
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response("\ufeff" + csv_text(rows), mimetype="text/csv", headers=headers)
    book = Workbook()
    book.sheet_named("案件")
    for row in rows:
        book.append(row)
    return send_file(book.close(), download_name=name, as_attachment=True, mimetype=XLSX)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/saved-searches")
@login_required
def list_saved_searches():
    """The caller's saved searches."""
    return {"items": saved_searches_schema.dump(search.list_saved_searches(g.officer))}


@bp.post("/saved-searches")
@login_required
@committed
def save_search():
    """Keeps a search under a name: `{name, query}`, query the list's parameters (the same name replaces it)."""
    data = load(saved_search_create_schema, json_body())
    load(complaint_filter_schema, data["query"])  # a search that would be refused is not kept
    saved = search.save_search(g.officer, data["name"], data["query"], utcnow())
    return saved_search_schema.dump(saved), 201


@bp.delete("/saved-searches/<int:search_id>")
@login_required
@committed
def delete_saved_search(search_id):
    """Removes one of the caller's saved searches."""
    search.delete_saved_search(g.officer, search_id)
    return "", 204


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
