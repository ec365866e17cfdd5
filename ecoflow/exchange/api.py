"""The receiving endpoint peers POST to, and the operators' view of the exchange (monitoring, retry)."""

from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, request

from ecoflow.casework.access import bureaus_where, role_labels
from ecoflow.errors import Forbidden, NotFound, Unauthorized
from ecoflow.evidence.services import file_sent_to
from ecoflow.evidence.storage import get_storage, send_stored
from ecoflow.officers.auth import login_required
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import inbox, outbox
from .schemas import (
    batch_schema,
    outbox_filter_schema,
    outbox_message_schema,
    outbox_messages_schema,
    received_exposures_schema,
)
from .trust import get_trust

# Peers authenticate by the signature on each envelope, not by a token.
peer_bp = Blueprint("exchange_peer", __name__, url_prefix="/exchange/v1")
bp = Blueprint("exchange_api", __name__, url_prefix="/api/v1/exchange")


@peer_bp.before_request
def _bounded():
    """Before the body is read: batches may be larger than the API's, an address that sends junk waits."""
    request.max_content_length = current_app.config["EXCHANGE_MAX_CONTENT_LENGTH"]
    inbox.check_address(request.remote_addr)


@peer_bp.post("/messages")
def receive_batch():
    """A batch of envelopes; one result per envelope, in order."""
    data = load(batch_schema, json_body())
    return {"results": inbox.receive_batch(data["messages"], utcnow(), request.remote_addr)}


@peer_bp.post("/message")
def receive_one():
    """One envelope: its result, or the reason it was refused in the JSON error shape."""
    return inbox.receive(json_body(), utcnow(), request.remote_addr)


@peer_bp.get("/files/<sha256>")
def lead_file(sha256):
    """A file this bureau sent the asking peer with a lead, by its hash; the GET signed by the peer."""
    sender = request.headers.get("X-Exchange-From", "")
    sent_at = request.headers.get("X-Exchange-Sent-At", "")
    signature = request.headers.get("X-Exchange-Signature", "")
    if not get_trust().verify_request(sender, request.path, sent_at, signature):
        raise Unauthorized("请求签名无效。", code="bad_signature")
    try:
        moment = datetime.fromisoformat(sent_at)
        skew = abs((utcnow() - moment).total_seconds())
    except (TypeError, ValueError):
        skew = None
    if skew is None or skew > current_app.config["EXCHANGE_MAX_CLOCK_SKEW_SECONDS"]:
        raise Unauthorized("请求时间与当前时间相差过大。", code="stale_message")
    entry = file_sent_to(sender, sha256)
    storage = get_storage()
    if entry is None or not storage.exists(sha256):
        raise NotFound("没有向该单位移送过这份材料。", code="unknown_file")
    return send_stored(storage, sha256, entry["content_type"], entry["filename"], True)


def _operated_bureaus() -> set[str]:
    """The bureaus whose exchange the officer operates (a role of access.yaml's operates_exchange there):
    on the unified platform a bureau's operators see and retry its own messages only."""
    bureaus = set(bureaus_where(g.officer, "operates_exchange"))
    if not bureaus:
        raise Forbidden(f"需要以下角色之一：{role_labels('operates_exchange')}。", code="role_not_allowed")
    return bureaus


@bp.get("/status")
@login_required
def status():
    return outbox.exchange_status(_operated_bureaus())


@bp.get("/outbox")
@login_required
def list_outbox():
    bureaus = _operated_bureaus()
    filters = load(outbox_filter_schema, request.args)
    messages = outbox.list_messages(filters.get("state"), filters.get("peer"), bureaus)
    return jsonify(outbox_messages_schema.dump(messages))


@bp.get("/exposures")
@login_required
def received_exposures():
    """Typical cases the peers published (宣传曝光), newest first, as they came."""
    return jsonify(received_exposures_schema.dump(outbox.received_exposures()))


@bp.post("/outbox/<message_id>/retry")
@login_required
@committed
def retry(message_id):
    message = outbox.retry(outbox.get_message(message_id, _operated_bureaus()), utcnow())
    body = outbox_message_schema.dump(message)
    return body
