"""The public board of typical cases (宣传曝光), server-rendered, no login."""

from flask import Blueprint, abort, render_template, request

from ecoflow.evidence.storage import get_storage, send_stored
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


@bp.get("/exposures/<int:exposure_id>/photos/<int:number>")
def photo(exposure_id, number):
    """A photo published with a typical case: its copy without metadata, never the original."""
    return _public_copy(services.public_photo(exposure_id, number), number)


@bp.get("/exposures/peers/<int:received_id>/photos/<int:number>")
def peer_photo(received_id, number):
    """A photo a peer bureau published with a typical case: the copy made here without metadata."""
    return _public_copy(services.peer_photo(received_id, number), number)


def _public_copy(chosen: dict, number: int):
    """A stored photo copy without metadata, cacheable by anyone: the board is public."""
    storage = get_storage()
    if not storage.exists(chosen["sha256"]):
        abort(404)
    response = send_stored(storage, chosen["sha256"], chosen["content_type"], f"photo-{number}", False)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
