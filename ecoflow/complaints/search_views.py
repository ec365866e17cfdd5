"""案件查询, the page: the same search as GET /api/v1/complaints (every case of the officer's bureaus,
open and closed), sortable columns, pages, the total, 导出 and saved searches. Thin: parses the query
string with the API's schema and calls complaints/search.py."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ecoflow.casework import clocks
from ecoflow.errors import ApiError, Invalid
from ecoflow.norm.current import get_norm
from ecoflow.officers.services import list_units
from ecoflow.rest import load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import unit_of_work

from . import queries, search
from .api import search_export
from .schemas import complaint_filter_schema, filter_args, saved_search_create_schema

bp = Blueprint("search", __name__)
bp.before_request(login_required(lambda: None))


def _search_args() -> MultiDict:
    """The query string's search parameters, empty ones left out (a form sends every field)."""
    return MultiDict([(k, v) for k, v in request.args.items(multi=True) if v.strip() and k in search.SEARCH_PARAMS])


def _url(args: MultiDict, **changes) -> str:
    """This page with `args`, some replaced."""
    merged = MultiDict(args)
    for key, value in changes.items():
        merged.setlist(key, [value] if value is not None else [])
    return url_for("search.page", **merged.to_dict(flat=False))


@bp.get("/search")
def page():
    norm = get_norm()
    args = _search_args()
    searched = bool(args)
    data = filter_args(args)
    if request.args.get("page"):
        data["page"] = request.args["page"]
    errors, rows, total, more, filters = {}, [], 0, False, {"page": 1, "per_page": 50}
    try:
        filters = load(complaint_filter_schema, data)
    except Invalid as exc:
        errors = exc.details.get("fields", {})
    else:
        if searched:
            cap = current_app.config["SEARCH_COUNT_CAP"]
            rows, total, more = search.search_complaints(current_user, filters, utcnow(), cap)
    pages = max(1, -(-total // filters["per_page"]))
    if more:  # "more than N": there is a next page while this one is full
        pages = max(pages, filters["page"] + (len(rows) == filters["per_page"]))
    officers = queries.assignable_officers(current_user.bureau_codes)
    return render_template(
        "complaints/search.html", args=args, errors=errors, rows=rows, total=total, more=more,
        searched=searched,
        page=filters["page"], pages=pages, sort=filters.get("sort") or "received_at",
        order=filters.get("order") or "desc", url=lambda **changes: _url(args, **changes),
        units=list_units(current_user.bureau_codes), officers=officers,
        districts=norm.routing.districts, saved=search.list_saved_searches(current_user),
        query_string=_url(args).partition("?")[2], now=utcnow(), status=clocks.clock_status,
        nearest={c.id: clocks.nearest_clock(c) for c in rows},
    ), (422 if errors else 200)  # fmt: skip


@bp.get("/search/export.<any(csv, xlsx):kind>")
def export(kind):
    filters = load(complaint_filter_schema, filter_args(_search_args()))
    return search_export(current_user, filters, kind)


@bp.post("/search/saved")
def save():
    args = MultiDict([(k, v) for k, v in request.form.items(multi=True) if k in search.SEARCH_PARAMS and v.strip()])
    query = {k: (args.getlist(k) if k == "state" else args[k]) for k in args}
    try:
        data = load(saved_search_create_schema, {"name": request.form.get("name", ""), "query": query})
        load(complaint_filter_schema, filter_args(args))
        with unit_of_work():
            search.save_search(current_user, data["name"], data["query"], utcnow())
    except ApiError as exc:
        flash(exc.message if not isinstance(exc, Invalid) else _("Give the search a name of at most 60 characters."),
              "error")  # fmt: skip
    else:
        flash(_("Search saved."), "info")
    return redirect(_url(args))


@bp.post("/search/saved/<int:search_id>/delete")
def delete(search_id):
    try:
        with unit_of_work():
            search.delete_saved_search(current_user, search_id)
    except ApiError as exc:
        flash(exc.message, "error")
    return redirect(url_for("search.page"))


@bp.app_template_global()
def saved_search_url(saved) -> str:
    """The search page with a saved search's parameters."""
    return url_for("search.page", **saved.params)
