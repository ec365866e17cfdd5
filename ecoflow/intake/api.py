"""API for hotline centres: POST /api/v1/intake/orders with the centre's own key."""

from functools import wraps

from flask import Blueprint, g, request

from ecoflow.casework.engine import perform_action
from ecoflow.exchange.webhook import SIGNATURE, TIMESTAMP
from ecoflow.norm.current import get_norm
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed, retrying_deadlocks

from . import services
from .schemas import BatchSchema, extension_decision_schema, follow_up_schema, urge_schema

bp = Blueprint("intake_api", __name__, url_prefix="/api/v1/intake")
batch_schema = BatchSchema()


def hotline_required(view):
    """Sets g.client from `Authorization: Bearer <key>` of a hotline centre, or answers 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        g.client = services.client_for_key(key.strip() if scheme.lower() == "bearer" else None,
                                           services.HOTLINE_CHANNELS)  # fmt: skip
        return view(*args, **kwargs)

    return wrapper


@bp.post("/orders")
@hotline_required
def receive_orders():
    batch = load(batch_schema, json_body())
    now = utcnow()
    # Two batches that number the same days (or count the same months) crosswise can deadlock on
    # PostgreSQL: the batch that loses (the request's unit of work, nothing else in it) starts again.
    answers = retrying_deadlocks(lambda: services.receive_orders(g.client, batch["orders"], now))
    counts = {status: sum(1 for a in answers if a["status"] == status)
              for status in ("created", "already_received", "rejected")}  # fmt: skip
    return {"results": answers, **counts}


def _centre_action(order_no: str, action: str, schema) -> dict:
    """A signed call of the centre on its own order, taken as the norm's `action` by its account."""
    now = utcnow()
    services.accept_signature(g.client, request.headers.get(TIMESTAMP), request.headers.get(SIGNATURE),
                              request.get_data(), now)  # fmt: skip
    data = load(schema, json_body())
    complaint = services.centre_case(g.client, order_no)
    complaint = perform_action(g.client.officer, complaint, action, {**data, "version": complaint.version}, now)
    return {"order_no": order_no, "case_no": complaint.case_no, "state": complaint.state}


@bp.post("/orders/<order_no>/follow-up")
@hotline_required
@committed
def follow_up(order_no):
    """The centre's 回访 result for its order: the `follow_up` action, by the centre."""
    return _centre_action(order_no, "follow_up", follow_up_schema(get_norm()))


@bp.post("/orders/<order_no>/urge")
@hotline_required
@committed
def urge(order_no):
    """The centre's 催办 on its order: a 督办 (`supervise`) by the centre, told to the unit and the officer."""
    return _centre_action(order_no, "supervise", urge_schema)


@bp.post("/orders/<order_no>/extension-decision")
@hotline_required
@committed
def extension_decision(order_no):
    """A centre that decides extensions: its decision on the pending request (`approve_extension`)."""
    return _centre_action(order_no, "approve_extension", extension_decision_schema)


@bp.get("/files/<token>")
def centre_file(token):
    """A file of a 回单 (an attachment of the reply), by its signed, expiring link."""
    return services.send_centre_file(token, utcnow())
