"""API: the measures (GET /api/v1/assessment), the cases behind a figure, hotspots, the monthly report."""

from flask import Blueprint, g, request, url_for

from ecoflow.officers.auth import login_required
from ecoflow.rest import load
from ecoflow.timeutil import utcnow

from . import hotspots, report, services
from .schemas import assessment_filter_schema, fact_cases_schema, figure_cases_schema, hotspot_query_schema

bp = Blueprint("assessment_api", __name__, url_prefix="/api/v1")


def _with_links(body: dict, filters: dict) -> dict:
    """Each figure names where to list the cases behind it."""
    base = {k: v for k, v in request.args.items() if k != "group_by"}

    def link(figure_set, extra):
        for name in services.FIGURES:
            figure_set[name]["cases"] = url_for(".figure_cases", figure=name, **base, **extra)

    link(body["total"], {})
    for group in body.get("groups", []):
        if group["key"] is not None:
            link(group["figures"], {"month" if body["group_by"] == "month" else body["group_by"]: group["key"]})
    return body


@bp.get("/assessment")
@login_required
def assessment():
    filters = load(assessment_filter_schema, request.args)
    return _with_links(services.assess(g.officer, filters, utcnow()), filters)


@bp.get("/assessment/cases")
@login_required
def figure_cases():
    filters = load(figure_cases_schema, request.args)
    items, total = services.figure_cases(g.officer, filters, utcnow())
    return {"items": fact_cases_schema.dump(items), "total": total, "page": filters["page"],
            "per_page": filters["per_page"]}  # fmt: skip


@bp.get("/hotspots")
@login_required
def list_hotspots():
    query = load(hotspot_query_schema, request.args)
    clusters = hotspots.visible_hotspots(g.officer, query, utcnow())
    return {"items": [c.as_dict() for c in clusters]}


@bp.get("/assessment/report.xlsx")
@login_required
def monthly_report():
    filters = load(assessment_filter_schema, request.args)
    return report.send_workbook(report.monthly_report(g.officer, filters, utcnow()))
