"""API: 管理, a bureau's units and officers, for its administrators; the trail of their changes."""

import csv
import io

from flask import Blueprint, Response, g, jsonify, request

from ecoflow.rest import json_body, load
from ecoflow.timeutil import SHANGHAI, utcnow
from ecoflow.transaction import committed

from . import admin
from .auth import login_required
from .models import Officer, Unit
from .schemas import (
    admin_events_schema,
    bureau_query_schema,
    officer_create_schema,
    officer_update_schema,
    personal_data_view_query,
    unit_create_schema,
    unit_update_schema,
)

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")
bp.before_request(login_required(lambda: None))


def unit_item(unit: Unit, leader: Officer | None = None) -> dict:
    leader = leader if leader is not None else admin.unit_leader(unit)
    return {
        "code": unit.code, "name": unit.name, "bureau": unit.bureau_code, "active": unit.is_active,
        "leader": leader.username if leader else None,
    }  # fmt: skip


def officer_item(officer: Officer) -> dict:
    locked = officer.locked_until is not None and officer.locked_until > utcnow()
    return {
        "username": officer.username, "bureau": officer.bureau_code, **admin.officer_snapshot(officer),
        "locked": locked, "must_change_password": officer.must_change_password,
    }  # fmt: skip


def _bureau() -> str | None:
    return load(bureau_query_schema, request.args)["bureau"]


@bp.get("/units")
def list_units():
    return jsonify(items=[unit_item(unit, leader) for unit, leader in admin.list_units(g.officer, _bureau())])


@bp.post("/units")
@committed
def create_unit():
    unit = admin.create_unit(g.officer, load(unit_create_schema, json_body()), utcnow())
    return unit_item(unit), 201


@bp.patch("/units/<code>")
@committed
def update_unit(code):
    unit = admin.update_unit(g.officer, _bureau(), code, load(unit_update_schema, json_body()), utcnow())
    return unit_item(unit)


@bp.get("/officers")
def list_officers():
    return jsonify(items=[officer_item(officer) for officer in admin.list_officers(g.officer, _bureau())])


@bp.post("/officers")
@committed
def create_officer():
    officer, password = admin.create_officer(g.officer, load(officer_create_schema, json_body()), utcnow())
    return {"username": officer.username, "one_time_password": password}, 201


@bp.patch("/officers/<username>")
@committed
def update_officer(username):
    return officer_item(admin.update_officer(g.officer, username, load(officer_update_schema, json_body()), utcnow()))


@bp.post("/officers/<username>/deactivate")
@committed
def deactivate_officer(username):
    return officer_item(admin.deactivate_officer(g.officer, username, utcnow()))


@bp.post("/officers/<username>/unlock")
@committed
def unlock_officer(username):
    return officer_item(admin.unlock_officer(g.officer, username, utcnow()))


@bp.post("/officers/<username>/reset-password")
@committed
def reset_password(username):
    return {"one_time_password": admin.reset_password(g.officer, username, utcnow())}


@bp.get("/events")
def list_events():
    query = load(bureau_query_schema, request.args)
    bureaus = [query["bureau"]] if query["bureau"] else admin.trail_bureaus(g.officer)
    items, total = admin.admin_trail(g.officer, bureaus, query["page"], query["per_page"])
    return jsonify(items=admin_events_schema.dump(items), total=total, page=query["page"], per_page=query["per_page"])


# 个人信息查阅记录 lives beside the administration record, outside /admin: its readers are not admins only.
views_bp = Blueprint("personal_data_api", __name__, url_prefix="/api/v1")
views_bp.before_request(login_required(lambda: None))

CSV_MAX_ROWS = 100000  # the export of a filter: narrow it (from, to) beyond this
CSV_COLUMNS = ("at", "officer", "officer_name", "case_no", "purpose")


def view_item(view, officer, case_no) -> dict:
    return {
        "at": view.viewed_at.astimezone(SHANGHAI).isoformat(), "officer": officer.username,
        "officer_name": officer.name, "case_no": case_no, "purpose": view.purpose,
    }  # fmt: skip


@views_bp.get("/personal-data-views")
def list_personal_data_views():
    query = load(personal_data_view_query, request.args)
    if query["format"] == "csv":
        query.update(page=1, per_page=CSV_MAX_ROWS)
    rows, total = admin.personal_data_views(g.officer, query)
    items = [view_item(*row) for row in rows]
    if query["format"] == "csv":
        return csv_response(items)
    return jsonify(items=items, total=total, page=query["page"], per_page=query["per_page"])


def csv_response(items: list[dict]) -> Response:
    """The views as a CSV file (UTF-8 with a byte order mark, so that spreadsheet programs read the names)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(items)
    headers = {"Content-Disposition": 'attachment; filename="personal-data-views.csv"'}
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers=headers)
