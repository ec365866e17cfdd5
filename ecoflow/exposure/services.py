"""宣传曝光: a supervisor marks a closed case typical; the board shows it with every personal detail
removed, and the peers receive the same public record."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from ecoflow.assessment.facts import district_name
from ecoflow.casework.access import role_labels, role_set, roles_on
from ecoflow.casework.trail import record_event
from ecoflow.complaints.models import Complaint, Event
from ecoflow.errors import Conflict, Forbidden, Invalid, NotFound
from ecoflow.evidence.media import Unreadable, open_image, stripped_copies, stripped_type
from ecoflow.evidence.models import Attachment
from ecoflow.evidence.storage import get_storage, note_written
from ecoflow.exchange.models import ReceivedExposure
from ecoflow.exchange.outbox import enqueue, received_exposures
from ecoflow.exchange.trust import get_trust
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer
from ecoflow.timeutil import SHANGHAI

from .models import Exposure
from .scrub import scrub

log = logging.getLogger(__name__)


def _check_supervisor(actor: Officer, complaint: Complaint):
    publishers = role_set("publishes")
    if not publishers & roles_on(actor, complaint):
        message = f"只有本单位{role_labels('publishes')}可以发布或撤下典型案例。"
        raise Forbidden(message, {"required_roles": sorted(publishers)}, code="role_not_allowed")


def _answer(complaint: Complaint) -> str:
    """The handling result of the case's last reply."""
    data = db.session.scalar(
        select(Event.data).where(Event.complaint_id == complaint.id, Event.action == "reply").order_by(Event.seq.desc())
    )
    return (data or {}).get("result", "")


def _public_text(text: str, complaint: Complaint) -> str:
    """The text with the complainant, the bureau's officers and the case's address taken out."""
    staff = db.session.scalars(select(Officer.name).where(Officer.bureau_code == complaint.bureau_code)).all()
    return scrub(text, [complaint.complainant_name, *staff], [complaint.address], complaint.district_code)


def publish_exposure(actor: Officer, complaint: Complaint, data: dict, now: datetime) -> Exposure:
    """Mark a closed case typical and put it on the public board; flushes, the caller commits."""
    _check_supervisor(actor, complaint)
    if complaint.state != "closed":
        raise Conflict(f"只有已办结的案件可以作为典型案例发布，案件 {complaint.case_no} 尚未办结。",
                       {"state": complaint.state}, code="not_closed")  # fmt: skip
    if db.session.scalar(select(Exposure.id).where(Exposure.complaint_id == complaint.id)) is not None:
        raise Conflict(f"案件 {complaint.case_no} 已发布为典型案例。", code="already_published")
    labels = get_norm().catalog["categories"]
    photos = _chosen_photos(complaint, data.get("photos", []))
    exposure = Exposure(
        complaint_id=complaint.id,
        bureau_code=complaint.bureau_code,
        title=_public_text(data["title"], complaint),
        summary=_public_text(data.get("summary") or complaint.description, complaint),
        handling=_public_text(data.get("handling") or _answer(complaint), complaint),
        district=district_name(complaint),
        categories="、".join(labels.get(c, c) for c in complaint.categories),
        received_month=complaint.received_at.astimezone(SHANGHAI).strftime("%Y-%m"),
        published_at=now,
        published_by_id=actor.id,
        photos=photos,
    )
    db.session.add(exposure)
    db.session.flush()
    record = {"exposure": exposure.id, "title": exposure.title}
    if photos:  # what left the bureau: the copies' hashes, beside the originals' on the trail
        record["photos"] = [{"attachment": p["attachment"], "sha256": p["sha256"]} for p in photos]
    record_event(complaint, actor, "expose", complaint.state, record, now)
    share_with_peers(exposure, complaint, now)
    return exposure


def _chosen_photos(complaint: Complaint, ids: list[int]) -> list[dict]:
    """The photos a supervisor chose to publish: the case's own, not withdrawn, not the complainant's
    (personal data is never public); their copies without metadata. 422 naming each one refused."""
    rows = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))} if ids else {}
    problems = {}
    for attachment_id in ids:
        row = rows.get(attachment_id)
        if row is None or row.complaint_id != complaint.id or row.withdrawn_at is not None:
            problems[str(attachment_id)] = "本案没有这张照片。"
        elif row.kind != "photo" or row.stripped_sha256 is None:
            problems[str(attachment_id)] = "只能发布照片。"
        elif row.is_from_complainant:
            problems[str(attachment_id)] = "投诉人提供的照片属于个人信息，不能公开。"
    if problems or len(set(ids)) != len(ids):
        raise Invalid("所选照片有误。", {"fields": {"photos": problems or ["同一张照片选了两次。"]}})
    return [{"attachment": i, "sha256": rows[i].stripped_sha256, "content_type": stripped_type(rows[i].content_type)}
            for i in ids]  # fmt: skip


def public_photo(exposure_id: int, number: int) -> dict:
    """The `number`th photo (from 1) of a typical case on the board; 404 once withdrawn."""
    exposure = db.session.get(Exposure, exposure_id)
    if exposure is None or exposure.withdrawn_at is not None or not 1 <= number <= len(exposure.photos):
        raise NotFound("没有这张照片。", code="unknown_photo")
    return exposure.photos[number - 1]


def peer_message(exposure: Exposure, complaint: Complaint) -> dict:
    """The `exposure.publish` payload of the exchange: the board's scrubbed text and the case number,
    and the chosen photos inside it (their copies without metadata, base64; one larger than
    EXPOSURE_PEER_PHOTO_MAX_BYTES stays on this bureau's board only)."""
    message = {
        "case_no": complaint.case_no, "title": exposure.title, "summary": exposure.summary,
        "categories": list(complaint.categories), "district": complaint.district_code,
        "result": exposure.handling, "closed_at": complaint.closed_at.isoformat(),
    }  # fmt: skip
    photos, storage = [], get_storage()
    limit = current_app.config["EXPOSURE_PEER_PHOTO_MAX_BYTES"]
    for photo in exposure.photos or []:
        if not storage.exists(photo["sha256"]):
            log.warning("Exposure %s: photo %s is missing from the storage", exposure.id, photo["sha256"])
            continue
        with storage.open(photo["sha256"]) as stream:
            content = stream.read(limit + 1)
        if len(content) > limit:
            log.info("Exposure %s: photo %s is over %s bytes, not sent to peers", exposure.id, photo["sha256"], limit)
            continue
        photos.append({"sha256": photo["sha256"], "content_type": photo["content_type"],
                       "data": base64.b64encode(content).decode()})  # fmt: skip
    if photos:
        message["photos"] = photos
    return message


def keep_peer_photos(payload: dict) -> dict:
    """The photos of a peer's `exposure.publish`, kept in the storage as copies made here without any
    metadata (whatever the peer sent): the payload as it is kept, each photo's `data` replaced by the
    copy's hash. A photo that does not decode, or whose hash is not the one sent, is left out."""
    if "photos" not in payload:
        return payload
    kept, storage = [], get_storage()
    for photo in payload["photos"]:
        content = base64.b64decode(photo["data"], validate=True)
        if hashlib.sha256(content).hexdigest() != photo["sha256"]:
            log.warning("Peer exposure %s: a photo does not match its hash, left out", payload["case_no"])
            continue
        try:
            image = open_image(io.BytesIO(content), get_norm().evidence.max_pixels)
            _, full = stripped_copies(image, 1)
        except Unreadable:
            log.warning("Peer exposure %s: a photo does not decode, left out", payload["case_no"])
            continue
        stored = storage.save(io.BytesIO(full))
        note_written(db.session, storage, stored)
        kept.append({"sha256": stored.sha256, "content_type": stripped_type(photo["content_type"])})
    return {**{k: v for k, v in payload.items() if k != "photos"}, "photos": kept}


def peer_photo(received_id: int, number: int) -> dict:
    """The `number`th photo (from 1) of a typical case a peer published; 404 once withdrawn."""
    received = db.session.get(ReceivedExposure, received_id)
    photos = (received.payload.get("photos") or []) if received else []
    if received is None or received.withdrawn_at is not None or not 1 <= number <= len(photos):
        raise NotFound("没有这张照片。", code="unknown_photo")
    return photos[number - 1]


def _peers_of(complaint: Complaint) -> list[str]:
    return sorted(code for code in get_trust().peers if code != complaint.bureau_code)


def share_with_peers(exposure: Exposure, complaint: Complaint, now: datetime) -> list[str]:
    """宣传曝光 is shared with the peers: `exposure.publish` to every other bureau, queued in this
    transaction and sent by the exchange after the commit. Returns to whom."""
    message = peer_message(exposure, complaint)
    peers = _peers_of(complaint)
    for peer in peers:
        enqueue("exposure.publish", complaint.bureau_code, peer, complaint.case_no, message, now)
    return peers


def exposure_of(complaint: Complaint) -> Exposure | None:
    """The case's typical-case publication, if it was ever published (withdrawn or not)."""
    return db.session.scalar(select(Exposure).where(Exposure.complaint_id == complaint.id))


def get_exposure(exposure_id: int) -> Exposure:
    exposure = db.session.get(Exposure, exposure_id)
    if exposure is None:
        raise NotFound(f"没有编号为 {exposure_id} 的典型案例。", code="unknown_exposure")
    return exposure


def withdraw_exposure(actor: Officer, exposure: Exposure, now: datetime) -> Exposure:
    """Take a case off the public board, and off the peers' through the exchange (it stays on record)."""
    complaint = db.session.get(Complaint, exposure.complaint_id)
    _check_supervisor(actor, complaint)
    if exposure.withdrawn_at is not None:
        raise Conflict("该典型案例已撤下。", code="already_withdrawn")
    exposure.withdrawn_at, exposure.withdrawn_by_id = now, actor.id
    record_event(complaint, actor, "withdraw_exposure", complaint.state, {"exposure": exposure.id}, now)
    withdraw_from_peers(complaint, now)
    return exposure


def withdraw_from_peers(complaint: Complaint, now: datetime) -> list[str]:
    """`exposure.withdraw` to every other bureau, queued in this transaction behind the case's
    `exposure.publish` (messages about one case go and are applied in order). Returns to whom."""
    peers = _peers_of(complaint)
    message = {"case_no": complaint.case_no, "withdrawn_at": now.isoformat()}
    for peer in peers:
        enqueue("exposure.withdraw", complaint.bureau_code, peer, complaint.case_no, message, now)
    return peers


def district_label(code: str | None) -> str | None:
    districts = get_norm().routing.districts
    return districts[code].name if code in districts else code


def peer_exposures(limit: int = 20) -> list[dict]:
    """Typical cases that bureaus of other instances published to this one (exposure.publish), newest
    first, for the board beside this instance's own: scrubbed again of numbers and door numbers (the
    sender took the names out), without their case numbers."""
    hosted, labels = set(get_trust().hosted), get_norm().catalog["categories"]
    seen, items = set(), []
    for received in received_exposures(limit * 3):
        key = (received.bureau_code, received.case_no)
        if received.bureau_code in hosted or key in seen:  # our own, or sent to each of our bureaus
            continue
        seen.add(key)
        payload = received.payload
        items.append({
            "bureau": received.bureau_code, "title": scrub(payload["title"]), "summary": scrub(payload["summary"]),
            "handling": scrub(payload.get("result") or ""), "district": district_label(payload.get("district")),
            "categories": "、".join(labels.get(c, c) for c in payload.get("categories") or []),
            "closed_month": payload["closed_at"][:7],
            "received_id": received.id, "photo_count": len(payload.get("photos") or []),
        })  # fmt: skip
    return items[:limit]


def public_exposures(bureau: str | None, page: int, per_page: int) -> tuple[list[Exposure], int]:
    """The board: published cases not withdrawn, newest first."""
    query = select(Exposure).where(Exposure.withdrawn_at.is_(None))
    if bureau:
        query = query.where(Exposure.bureau_code == bureau)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.order_by(Exposure.published_at.desc(), Exposure.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return items, total
