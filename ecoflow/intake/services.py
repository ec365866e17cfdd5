"""Client keys, and the hotline centres' batches of orders: each order registered as a complaint
(idempotent on the order number), answered one by one."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ecoflow.complaints.intake import register_complaint
from ecoflow.complaints.models import Complaint
from ecoflow.errors import ApiError, Invalid, NotFound, Unauthorized
from ecoflow.evidence.models import Attachment
from ecoflow.evidence.storage import get_storage, send_stored
from ecoflow.exchange.webhook import is_allowed_url, is_signed
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Bureau, Officer, RoleGrant
from ecoflow.rest import load

from .callbacks import read_file_link
from .models import CentreSignature, ChannelClient
from .schemas import order_schema, to_complaint

log = logging.getLogger(__name__)

HOTLINE_CHANNELS = ("hotline_12345", "hotline_12369")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(
    name: str, channel: str, bureau_code: str, callback_url: str | None = None, decides_extensions: bool = False
) -> tuple[ChannelClient, str]:
    """A new client system with its system account; returns it and its key (shown only now). A
    hotline centre also gets the secret that signs the calls between it and us (docs/centres.md),
    its 回单 go to `callback_url`, and with `decides_extensions` it approves or refuses the bureau's
    extension requests on its orders itself."""
    if db.session.get(Bureau, bureau_code) is None:
        raise Invalid(f"没有代码为 {bureau_code} 的单位。", {"fields": {"bureau": ["未知单位。"]}})
    if callback_url is not None and (len(callback_url) > 500 or not is_allowed_url(callback_url)):
        raise Invalid("回调地址须为 https:// 地址（http:// 仅限本机）。", {"fields": {"callback_url": ["地址无效。"]}})
    if decides_extensions and (channel not in HOTLINE_CHANNELS or callback_url is None):
        message = "只有有回调地址的热线中心可以审批延期（它需要收到延期申请）。"
        raise Invalid(message, {"fields": {"decides_extensions": [message]}})
    if db.session.scalar(select(ChannelClient).where(ChannelClient.name == name)) is not None:
        raise Invalid(f"已有名为 {name} 的接入系统。", {"fields": {"name": ["名称已被使用。"]}})
    # No password can match "!": the account acts only through its key.
    officer = Officer(username=f"system:{name}"[:64], name=name, password_hash="!", bureau_code=bureau_code)
    officer.grants.append(RoleGrant(role=get_norm().access["client_account"], bureau_code=bureau_code))
    if channel in HOTLINE_CHANNELS:  # a centre that hears back does its own 回访
        officer.grants.append(RoleGrant(role=get_norm().access["centre_account"], bureau_code=bureau_code))
    key = "ecf_" + secrets.token_urlsafe(32)
    client = ChannelClient(name=name, channel=channel, bureau_code=bureau_code, officer=officer, key_hash=_hash(key),
                           callback_url=callback_url, decides_extensions=decides_extensions)  # fmt: skip
    if channel in HOTLINE_CHANNELS:
        client.secret = secrets.token_hex(32)
    db.session.add(client)
    db.session.flush()
    return client, key


def revoke_client(name: str, channel_prefix: str) -> ChannelClient:
    """Disable a client's key and its system account; what it filed stays."""
    client = db.session.scalar(select(ChannelClient).where(ChannelClient.name == name))
    if client is None or not client.channel.startswith(channel_prefix):
        raise Invalid(f"没有名为 {name} 的接入系统。", {"fields": {"name": ["未知的接入系统。"]}})
    client.is_active = client.officer.is_active = False
    db.session.flush()
    return client


def client_for_key(key: str | None, channels) -> ChannelClient:
    """The active client of one of `channels` with this key; Unauthorized otherwise."""
    client = db.session.scalar(select(ChannelClient).where(ChannelClient.key_hash == _hash(key))) if key else None
    if client is None or not client.is_active or client.channel not in channels:
        raise Unauthorized("无效的接入密钥。", code="bad_key")
    return client


def receive_orders(client: ChannelClient, orders: list, now: datetime) -> list[dict]:
    """Register each order as a complaint of the client's bureau; one answer per order, in order:
    created (with the earlier complaints it may repeat), already_received, or rejected with why."""
    schema = order_schema(get_norm())
    answers = []
    for raw in orders:
        order_no = raw.get("order_no") if isinstance(raw, dict) else None
        answer = {"order_no": order_no if isinstance(order_no, str) else None}
        try:
            data = to_complaint(load(schema, raw), client.channel)
            with db.session.begin_nested():
                complaint, created = register_complaint(client.officer, data, now)
        except ApiError as exc:
            log.info("Order %s of %s rejected: %s", answer["order_no"], client.name, exc.message)
            answers.append({**answer, "status": "rejected", "reason": exc.message, "details": exc.details})
            continue
        answer.update(status="created" if created else "already_received", case_no=complaint.case_no)
        if created:
            answer.update(duplicate_of=complaint.suggestion["duplicates"], routing_flag=complaint.routing_flag)
        answers.append(answer)
    return answers


def accept_signature(client: ChannelClient, timestamp: str | None, signature: str | None, body: bytes, now: datetime):
    """Refuse (401) a centre's call not signed with its secret, signed too long ago or ahead, or
    signed exactly as one already accepted (a replay); else keep its signature."""
    window = current_app.config["CENTRE_SIGNATURE_WINDOW_SECONDS"]
    if client.secret is None or not is_signed(client.secret, timestamp, signature, body, now.timestamp(), window):
        raise Unauthorized("签名无效或已过期。", code="bad_signature")
    # A signature older than the window is refused by its timestamp: it need not be kept.
    db.session.execute(delete(CentreSignature).where(CentreSignature.received_at < now - timedelta(seconds=2 * window)))
    try:
        with db.session.begin_nested():
            db.session.add(CentreSignature(signature=signature, client_id=client.id, received_at=now))
    except IntegrityError:
        raise Unauthorized("该调用已受理过，不能重放。", code="replayed") from None


def centre_case(client: ChannelClient, order_no: str) -> Complaint:
    """The case the centre's order became; another centre's order, or none, is not found."""
    complaint = db.session.scalar(
        select(Complaint).where(
            Complaint.bureau_code == client.bureau_code,
            Complaint.channel == client.channel,
            Complaint.external_id == order_no,
        )
    )
    if complaint is None:
        raise NotFound(f"没有编号为 {order_no} 的工单。", code="unknown_order")
    return complaint


def send_centre_file(token: str, now: datetime):
    """The file a 回单's link names, for the centre: while the link is valid, the centre's account
    active and the attachment not withdrawn; 404 `unknown_file` otherwise (nothing says which)."""
    claims = read_file_link(token, now)
    attachment = db.session.get(Attachment, claims[0]) if claims and isinstance(claims[0], int) else None
    client = db.session.get(ChannelClient, claims[1]) if claims and isinstance(claims[1], int) else None
    storage = get_storage()
    if (
        attachment is None or client is None or not client.is_active or attachment.withdrawn_at is not None
        or claims[2] not in (attachment.sha256, attachment.stripped_sha256) or not storage.exists(claims[2])
    ):  # fmt: skip
        raise NotFound("文件链接无效或已过期。", code="unknown_file")
    content_type = "image/jpeg" if claims[2] == attachment.stripped_sha256 else attachment.content_type
    log.info("Centre %s fetched attachment %s of case %s", client.name, attachment.id, attachment.complaint_id)
    return send_stored(storage, claims[2], content_type, attachment.filename, True)
