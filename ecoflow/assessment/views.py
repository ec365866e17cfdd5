"""The assessment pages: the dashboard, the cases behind a figure, the printable monthly report.

Until the web UI (issue 5) lands its login, these pages take the officer from a session cookie set
by a small sign-in form here (or from an API bearer token); the integrator swaps `page_officer` for
the web UI's login and `page.html` for its base layout."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_login import current_user

from ecoflow.errors import ApiError, Unauthorized
from ecoflow.extensions import db
from ecoflow.officers.models import Officer
from ecoflow.officers.services import authenticate, officer_for_token
from ecoflow.rest import load
from ecoflow.timeutil import SHANGHAI, utcnow

from . import charts, report, services
from .schemas import assessment_filter_schema, figure_cases_schema

bp = Blueprint("assessment", __name__, url_prefix="/assessment")


def page_officer(view):
    """The signed-in officer in g.officer; to the sign-in form otherwise."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        officer = None
        if current_user.is_authenticated:  # logged in on the officers' workbench
            officer = current_user
        elif scheme.lower() == "bearer" and token:
            officer = officer_for_token(token.strip())
        elif session.get("officer_id"):
            officer = db.session.get(Officer, session["officer_id"])
        if officer is None or not officer.is_active:
            return redirect(url_for(".sign_in", next=request.full_path))
        g.officer = officer
        return view(*args, **kwargs)

    return wrapper


@bp.errorhandler(ApiError)
def page_error(exc: ApiError):
    return render_template("assessment/error.html", error=exc), exc.status


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    error = None
    if request.method == "POST":
        try:
            officer = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except Unauthorized as exc:
            error = exc.message
        else:
            session.clear()
            session["officer_id"] = officer.id
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/assessment") else url_for(".dashboard"))
    return render_template("assessment/sign_in.html", error=error), 401 if error else 200


@bp.post("/sign-out")
def sign_out():
    session.clear()
    return redirect(url_for(".sign_in"))


@bp.app_template_filter("local_time")
def local_time(moment) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


@bp.app_template_filter("extract")
def extract(key, mapping):
    return mapping.get(key, key)


def _filters():
    return load(assessment_filter_schema, {k: v for k, v in request.args.items() if v})


@bp.get("/")
@page_officer
def dashboard():
    data = report.dashboard(g.officer, _filters(), utcnow())
    query = {k: v for k, v in request.args.items() if v}
    scope = {k: v for k, v in query.items() if k != "group_by"}
    return render_template(
        "assessment/dashboard.html", **data, query=query, scope=scope,
        trend_scope={k: v for k, v in scope.items() if k != "month"}, labels=services.LABELS,
        trend_svg=charts.trend_chart(data["trend"]), ranking_svg=charts.ranking_chart(data["body"]["groups"]),
        bureaus=services.visible_bureaus(g.officer), catalog=services.catalog(), groups=services.GROUP_LABELS,
    )  # fmt: skip


@bp.get("/cases")
@page_officer
def cases():
    filters = load(figure_cases_schema, {k: v for k, v in request.args.items() if v})
    items, total = services.figure_cases(g.officer, filters, utcnow())
    return render_template("assessment/cases.html", items=items, total=total, filters=filters,
                           label=services.LABELS[filters["figure"]], query=request.args)  # fmt: skip


@bp.get("/report")
@page_officer
def printable_report():
    data = report.monthly_report(g.officer, _filters(), utcnow())
    return render_template("assessment/report.html", data=data, labels=services.LABELS,
                           dimensions=report.DIMENSIONS, header=report.FIGURE_HEADER, row=report.figure_row,
                           trend_svg=charts.trend_chart(data["trend"]),
                           ranking_svg=charts.ranking_chart(data["by"]["unit"]))  # fmt: skip
