"""回单: what goes back to the hotline centre a case came from, action by action (docs/centres.md).

The one place that maps the norm's actions to the centre's events and their fields, so that an
adapter for a vendor's own format has one module to replace. Written to the outbox in the action's
transaction; the outbox delivers it after the commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from ecoflow.casework.step import Step
from ecoflow.complaints.effects import follow_up_outcome
from ecoflow.evidence.models import Attachment
from ecoflow.exchange.outbox import enqueue_callback
from ecoflow.extensions import db

from .models import ChannelClient, callback_centre


def _reply_due(step: Step) -> dict:
    clock = step.complaint.running_clock("reply")
    return {"reply_due_at": clock.due_at.isoformat() if clock else None}


def _follow_up(step: Step) -> tuple[str, dict] | None:
    """The 回访 closes the case, sends it back to handling (重办), or leaves it to the leader's 销号."""
    event = follow_up_outcome(step)
    return None if event is None else (event, {k: step.data.get(k) for k in ("resolved", "satisfaction", "note")})


def _fields(*names: str):
    return lambda step: {name: step.data.get(name) for name in names}


def _signed(step: Step) -> dict:
    return {"unit": step.complaint.unit.name if step.complaint.unit else None}


def _transferred(step: Step) -> dict:
    bureau = step.data["to_bureau"]
    name = step.norm.catalog["bureaus"].get(bureau)
    return {"to_bureau": bureau, "to_bureau_name": name, "reason": step.data["reason"]}


def _extension_decided(step: Step) -> dict:
    return {"approved": step.data["approved"], "note": step.data.get("note"), **_reply_due(step)}


# Action → (event, its fields). Actions not listed tell the centre nothing.
EVENTS = {
    "sign": ("signed", _signed),
    "reject": ("rejected", _fields("reason", "referred_to")),
    "transfer": ("transferred", _transferred),
    "request_extension": ("extension_requested", _fields("days", "reason")),
    "approve_extension": ("extension_decided", _extension_decided),
    "reply": ("replied", _fields("result", "text")),
    "verify_close": ("closed", _fields("note")),
    "reopen": ("reopened", _fields("reason")),
}


def tell_centre(step: Step):
    """Queue the 回单 of this action to the case's centre, if it came from one that wants them."""
    if step.action.name == "follow_up":
        event = _follow_up(step)
    else:
        name, fields = EVENTS[step.action.name]
        event = name, fields(step)
    if event is None:
        return
    complaint = step.complaint
    centre = callback_centre(complaint.channel, complaint.bureau_code, complaint.external_id)
    if centre is None:
        return
    payload = {"order_no": complaint.external_id, "case_no": complaint.case_no, **event[1]}
    if event[0] == "replied":
        payload["attachments"] = _file_links(step, centre)
    enqueue_callback(complaint.bureau_code, centre, complaint.case_no, event[0], payload, step.now)


# --- the reply's attachments, as links the centre fetches -----------------------------------------


def file_signer() -> URLSafeSerializer:
    """Signs the links to the files of a 回单 with the app's secret key."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="ecoflow.centre-file")


def _file_links(step: Step, centre: ChannelClient) -> list[dict]:
    """The attachments the officer chose for the reply, each as a signed link that only this centre's
    account opens, until CENTRE_FILE_LINK_DAYS from now: what leaves the bureau is a photo's copy
    without EXIF (no GPS), a document as it is; the complainant's own uploads stay in (personal data)."""
    ids = [item["id"] for item in step.record.get("attachments", [])]
    if not ids:
        return []
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id)).all()
    expires = step.now + timedelta(days=current_app.config["CENTRE_FILE_LINK_DAYS"])
    base = (current_app.config["PUBLIC_URL"] or "").rstrip("/")
    links = []
    for attachment in rows:
        if attachment.is_from_complainant:
            continue
        key, content_type = _copy(attachment)
        token = file_signer().dumps({"a": attachment.id, "c": centre.id, "k": key, "e": int(expires.timestamp())})
        links.append({
            "name": attachment.filename, "kind": attachment.kind, "content_type": content_type, "sha256": key,
            "url": f"{base}/api/v1/intake/files/{token}", "expires_at": expires.isoformat(),
        })  # fmt: skip
    return links


def _copy(attachment: Attachment) -> tuple[str, str]:
    """The copy of an attachment that may leave the bureau: (its hash, its type)."""
    if attachment.stripped_sha256:
        return attachment.stripped_sha256, "image/jpeg"
    return attachment.sha256, attachment.content_type


def read_file_link(token: str, now: datetime) -> tuple[int, int, str] | None:
    """(attachment id, centre account id, hash of the copy) of a link still valid, else None."""
    try:
        claims = file_signer().loads(token)
    except Exception:  # any malformed or forged token is simply not a link
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("e"), int) or claims["e"] <= now.timestamp():
        return None
    return claims.get("a"), claims.get("c"), claims.get("k")
