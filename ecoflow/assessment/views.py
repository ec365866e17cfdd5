"""The assessment pages: the dashboard, the cases behind a figure, the printable monthly report,
for officers logged in on the workbench."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ecoflow.errors import ApiError
from ecoflow.rest import load
from ecoflow.timeutil import utcnow

from . import charts, report, services
from .schemas import assessment_filter_schema, figure_cases_schema

bp = Blueprint("assessment", __name__, url_prefix="/assessment")
bp.before_request(login_required(lambda: None))


@bp.errorhandler(ApiError)
def page_error(exc: ApiError):
    return render_template("assessment/error.html", error=exc), exc.status


@bp.app_template_filter("extract")
def extract(key, mapping):
    return mapping.get(key, key)


def _filters():
    return load(assessment_filter_schema, {k: v for k, v in request.args.items() if v})


@bp.get("/")
def dashboard():
    data = report.dashboard(current_user, _filters(), utcnow())
    query = {k: v for k, v in request.args.items() if v}
    scope = {k: v for k, v in query.items() if k != "group_by"}
    return render_template(
        "assessment/dashboard.html", **data, query=query, scope=scope,
        trend_scope={k: v for k, v in scope.items() if k != "month"}, labels=services.LABELS,
        trend_svg=charts.trend_chart(data["trend"]), ranking_svg=charts.ranking_chart(data["body"]["groups"]),
        bureaus=services.visible_bureaus(current_user), catalog=services.catalog(), groups=services.GROUP_LABELS,
    )  # fmt: skip


@bp.get("/cases")
def cases():
    filters = load(figure_cases_schema, {k: v for k, v in request.args.items() if v})
    items, total = services.figure_cases(current_user, filters, utcnow())
    return render_template("assessment/cases.html", items=items, total=total, filters=filters,
                           label=services.LABELS[filters["figure"]], query=request.args, outcome=report.outcome,
                           catalog=services.catalog())  # fmt: skip


@bp.get("/report")
def printable_report():
    data = report.monthly_report(current_user, _filters(), utcnow())
    return render_template("assessment/report.html", data=data, labels=services.LABELS,
                           dimensions=report.DIMENSIONS, header=report.FIGURE_HEADER, row=report.shown_row,
                           score=report.score_shown, outcome=report.outcome,
                           trend_svg=charts.trend_chart(data["trend"]),
                           ranking_svg=charts.ranking_chart(data["by"]["unit"]))  # fmt: skip


@bp.get("/report.xlsx")
def report_workbook():
    return report.send_workbook(report.monthly_report(current_user, _filters(), utcnow()))
