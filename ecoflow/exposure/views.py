"""The public board of typical cases (宣传曝光), server-rendered, no login."""

from flask import Blueprint, render_template, request

from ecoflow.norm.current import get_norm
from ecoflow.rest import load

from . import services
from .schemas import board_query_schema

bp = Blueprint("exposure", __name__, url_prefix="/public")


@bp.get("/exposures")
def board():
    query = load(board_query_schema, request.args)
    items, total = services.public_exposures(query.get("bureau"), query["page"], query["per_page"])
    return render_template("exposure/board.html", items=items, total=total, query=query,
                           peers=services.peer_exposures(), bureaus=get_norm().catalog["bureaus"])  # fmt: skip
