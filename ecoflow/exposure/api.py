"""API: publishing typical cases (supervisors), and the public board (no login)."""

from flask import Blueprint, g, request, url_for

from ecoflow.complaints.queries import get_complaint
from ecoflow.officers.auth import login_required
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .schemas import board_query_schema, public_exposure_schema, public_exposures_schema, publish_schema

bp = Blueprint("exposure_api", __name__, url_prefix="/api/v1")


@bp.post("/exposures")
@login_required
@committed
def publish():
    data = load(publish_schema, json_body())
    complaint = get_complaint(g.officer, data["case_no"])
    exposure = services.publish_exposure(g.officer, complaint, data, utcnow())
    body = public_exposure_schema.dump(exposure)
    return body, 201


@bp.post("/exposures/<int:exposure_id>/withdraw")
@login_required
@committed
def withdraw(exposure_id):
    exposure = services.withdraw_exposure(g.officer, services.get_exposure(exposure_id), utcnow())
    body = public_exposure_schema.dump(exposure)
    return body


@bp.get("/public/exposures")
def board():
    query = load(board_query_schema, request.args)
    items, total = services.public_exposures(query.get("bureau"), query["page"], query["per_page"])
    peers = []
    for item in services.peer_exposures():
        received_id, count = item.pop("received_id"), item.pop("photo_count")
        item["photos"] = [url_for("exposure.peer_photo", received_id=received_id, number=n, _external=True)
                          for n in range(1, count + 1)]  # fmt: skip
        peers.append(item)
    return {"items": public_exposures_schema.dump(items), "total": total, "page": query["page"], "peers": peers}
