"""线索移送: a lead handed to the bureau with jurisdiction over its source, and the linked case the
receiving bureau makes of it. The rules of both sides; the exchange carries the messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ecoflow.casework.step import Step
from ecoflow.casework.trail import record_event
from ecoflow.errors import Invalid, NotFound
from ecoflow.evidence.media import stripped_type
from ecoflow.evidence.models import Attachment
from ecoflow.evidence.storage import get_storage
from ecoflow.exchange.models import OutboxMessage
from ecoflow.exchange.outbox import enqueue
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer

from .intake import register_complaint
from .models import LEAD_CHANNEL, Complaint, Event
from .privacy import coarsen, mask_address, place_is_home, redact


def _tell_origin(complaint: Complaint, kind: str, payload: dict, now: datetime):
    payload = {"origin_case_no": complaint.peer_case_no, "case_no": complaint.case_no, **payload}
    enqueue(kind, complaint.bureau_code, complaint.peer_bureau, complaint.case_no, payload, now)


# --- the origin -------------------------------------------------------------------------------


_FREE_TEXT = ("summary", "suspected_source", "evidence", "asks", "reason")


def lead_payload(complaint: Complaint, data: dict) -> dict:
    """What the lead carries (NORM.md); the complainant's contact only when the transfer asks for a
    call-back, the complainant agreed to one and the case was not dispatched anonymously."""
    reply = complaint.running_clock("reply")
    payload = {
        "origin_case_no": complaint.case_no,
        "type": complaint.type,
        "summary": complaint.description,
        "categories": list(complaint.categories),
        "grade": complaint.grade,
        "received_at": complaint.received_at.isoformat(),
        "location": {"address": complaint.address, "district": complaint.district_code,
                     "lat": complaint.lat, "lng": complaint.lng},
        "suspected_source": data.get("suspected_source"),
        "evidence": data.get("evidence") or [],
        "asks": data.get("asks"),
        "reason": data["reason"],
        "reply_due_at": reply.due_at.isoformat() if reply else None,
        "complainant_key": complaint.complainant_key,
        "place_key": complaint.place_key,
    }  # fmt: skip
    if data.get("callback") and complaint.callback_consent and not complaint.is_sensitive:
        payload["complainant"] = {"name": complaint.complainant_name, "phone": complaint.complainant_phone}
        return payload
    # No call-back agreed: the officer's free text names no complainant (nor their home); the place of
    # the pollution travels whole, the object of the receiver's work, unless it is the complainant's home.
    payload.update(redact({key: payload[key] for key in _FREE_TEXT}, complaint))
    if place_is_home(complaint):
        payload["location"].update(
            address=mask_address(complaint.address, complaint.district_code),
            lat=coarsen(complaint.lat),
            lng=coarsen(complaint.lng),
        )
    return payload


def _lead_files(step: Step, with_complainant: bool) -> tuple[list[dict], list[dict]]:
    """The files the transfer presents (`attachments`), as the lead states them, and the record of
    what left: a photo leaves as its copy without EXIF (no GPS), whose hash the lead carries; the
    origin keeps both hashes. The complainant's own uploads go only with their contact."""
    ids = [item["id"] for item in step.record.get("attachments", [])]
    if not ids:
        return [], []
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id)).all()
    storage = get_storage()
    files, sent = [], []
    for row in rows:
        if row.is_from_complainant and not with_complainant:
            continue
        key = row.stripped_sha256 or row.sha256
        with storage.open(key) as stream:
            size = stream.seek(0, 2)
        content_type = stripped_type(row.content_type) if row.stripped_sha256 else row.content_type
        files.append({"sha256": key, "size": size, "content_type": content_type, "kind": row.kind,
                      "filename": row.filename, "caption": row.caption,
                      "from_complainant": row.is_from_complainant})  # fmt: skip
        sent.append({"attachment": row.id, "sha256": row.sha256, "sent_sha256": key})
    return files, sent


def send_lead(step: Step):
    """移送: the lead goes to the peer bureau; the case waits for its answer."""
    complaint, to = step.complaint, step.data["to_bureau"]
    if to == complaint.bureau_code:
        raise Invalid("不能移送给本单位。", {"fields": {"to_bureau": ["不能移送给本单位。"]}})
    payload = lead_payload(complaint, step.data)
    files, sent = _lead_files(step, "complainant" in payload)
    if files:
        payload["files"] = files
        step.record["files_sent"] = sent
    enqueue("lead.transfer", complaint.bureau_code, to, complaint.case_no, payload, step.now)
    complaint.peer_bureau, complaint.peer_case_no = to, None
    step.record["contact_sent"] = "complainant" in payload


def tell_receiver(step: Step, from_state: str, reopened: bool):
    """A case transferred out (its receiver answered, or not) closes or reopens: the receiver's case
    follows it (`lead.closed`, `lead.reopened`). Nothing for any other case or change."""
    complaint = step.complaint
    if complaint.is_received_lead or complaint.peer_bureau is None or complaint.peer_case_no is None:
        return
    payload = {"origin_case_no": complaint.case_no, "case_no": complaint.peer_case_no}
    if complaint.closed_at is not None:
        payload["closed_at"] = complaint.closed_at.isoformat()
        enqueue("lead.closed", complaint.bureau_code, complaint.peer_bureau, complaint.case_no, payload, step.now)
    elif reopened:
        reason = step.data.get("reason") or step.data.get("note") or "回访问题未解决或不满意，重办。"
        payload["reason"] = redact(reason, complaint)  # free text crossing the border
        enqueue("lead.reopened", complaint.bureau_code, complaint.peer_bureau, complaint.case_no, payload, step.now)


def origin_case(sender: str, recipient: str, payload: dict) -> Complaint:
    complaint = db.session.scalar(
        select(Complaint).where(Complaint.case_no == payload["origin_case_no"], Complaint.bureau_code == recipient)
    )
    if complaint is None or complaint.peer_bureau != sender:
        raise NotFound(f"{recipient} 没有移送给 {sender} 的案件 {payload['origin_case_no']}。", code="unknown_lead")
    return complaint


def record_peer_answer(sender: str, recipient: str, kind: str, payload: dict, now: datetime) -> tuple[Complaint, dict]:
    """The peer signed for, accepted, returned or reported on a lead this bureau transferred: on the
    record. Returns the origin's case and, for a result or a return while the case waits for it, the
    fields of the `lead_result` action the caller takes next (else None)."""
    complaint = origin_case(sender, recipient, payload)
    complaint.peer_case_no = payload["case_no"]
    if kind == "lead.ack":
        complaint.updated_at = now
        data = {"peer": sender, "peer_case_no": payload["case_no"], "stage": payload["stage"], "by": "exchange"}
        record_event(complaint, None, f"lead_{payload['stage']}", complaint.state, data, now)
        return complaint, None
    if kind == "lead.late":  # the peer's own lateness, whistled at the peer: on the record here
        complaint.updated_at = now
        data = {"peer": sender, "peer_case_no": payload["case_no"], "clock": payload["clock"],
                "due_at": payload["due_at"], "peer_whistle": payload.get("whistle_id"), "by": "exchange"}  # fmt: skip
        record_event(complaint, None, "lead_late", complaint.state, data, now)
        return complaint, None
    if kind == "lead.return":
        data = {"outcome": "returned", "reason": payload["reason"]}
    else:
        data = {"outcome": "result", "result": payload["result"], "text": payload["text"]}
    data["peer_case_no"] = payload["case_no"]
    if complaint.state != "transferred":
        # A later result (the peer reopened and answered again): on the record, the case stays where it is.
        complaint.updated_at = now
        record_event(complaint, None, "lead_update", complaint.state, {**data, "by": "exchange"}, now)
        return complaint, None
    return complaint, data


# --- the receiver -----------------------------------------------------------------------------

# What the lead's card on the receiver's case keeps of the lead (besides the sender, `origin_bureau`).
_CARD = ("origin_case_no", "reason", "suspected_source", "asks", "evidence", "files", "grade", "categories",
         "reply_due_at")  # fmt: skip


def register_lead(sender: str, recipient: str, message_id: str, payload: dict, now: datetime) -> Complaint:
    """The lead becomes a case of this bureau (channel peer_transfer, linked to the origin's case
    number) in `received`, with its own 签收 and 受理 clocks running from now, the card of what the
    lead said (`lead`) and the origin's grade as its suggested one."""
    norm = get_norm()
    location = payload["location"]
    card = {"origin_bureau": sender, **{key: payload.get(key) for key in _CARD}}
    card["evidence"] = card["evidence"] or []
    data = {
        "bureau": recipient, "channel": LEAD_CHANNEL, "external_id": message_id,
        "type": payload.get("type") if payload.get("type") in norm.catalog["types"] else "complaint",
        "description": payload["summary"],
        "location": {"address": location["address"], "district": location.get("district"),
                     "lat": location.get("lat"), "lng": location.get("lng")},
        "peer_bureau": sender, "peer_case_no": payload["origin_case_no"],
        "complainant_key": payload.get("complainant_key"), "place_key": payload.get("place_key"),
        "lead": card,
    }  # fmt: skip
    if payload.get("complainant"):
        data["complainant"] = {**payload["complainant"], "callback_consent": True}
    complaint, _created = register_complaint(None, {**data, "clocks": norm.lead_clocks}, now)
    return complaint


def received_case(sender: str, recipient: str, payload: dict) -> Complaint:
    """This bureau's case made of the lead `payload` names (the origin's case number)."""
    complaint = db.session.scalar(select(Complaint).where(
        Complaint.bureau_code == recipient, Complaint.channel == LEAD_CHANNEL, Complaint.peer_bureau == sender,
        Complaint.peer_case_no == payload["origin_case_no"],
    ))  # fmt: skip
    if complaint is None:
        raise NotFound(f"{recipient} 没有 {sender} 移送的案件 {payload['origin_case_no']}。", code="unknown_lead")
    return complaint


def origin_changed(sender: str, recipient: str, kind: str, payload: dict, now: datetime):
    """The origin closed or reopened the case a lead here came from. Returns this bureau's case and
    the action it takes now (`close_lead`, `reopen_lead`, with its fields) when its state allows
    it (lifecycle.yaml), else None: then the news is on its timeline and the case goes on."""
    complaint = received_case(sender, recipient, payload)
    origin = f"{get_norm().catalog['bureaus'].get(sender, sender)}（{payload['origin_case_no']}）"
    if kind == "lead.closed":
        name, data = "close_lead", {"reason": f"移送方{origin}已办结。"}
    else:
        name, data = "reopen_lead", {"reason": f"移送方{origin}重办：{payload['reason']}"}
    if complaint.state in get_norm().actions[name].sources:
        return complaint, name, data
    complaint.updated_at = now
    record_event(complaint, None, name, complaint.state, {**data, "by": "exchange", "applied": False}, now)
    return complaint, None, None


# The receiver's effects: what the origin is told (access.py refuses what a lead may not do).


def tell_signed(step: Step):
    """签收线索: the origin hears the lead was signed for."""
    _tell_origin(step.complaint, "lead.ack", {"stage": "signed"}, step.now)


def tell_accepted(step: Step):
    """受理 of a received lead: the origin hears it was accepted as a case here."""
    if step.complaint.is_received_lead:
        _tell_origin(step.complaint, "lead.ack", {"stage": "accepted"}, step.now)


def tell_late(complaint: Complaint, clock, whistle_id: int, now: datetime):
    """This bureau's own 签收 or 受理 of the lead ran late and its ladder blew a whistle here: the
    origin sees it on its transferred case (and summons nobody for it)."""
    payload = {"clock": clock.kind, "due_at": clock.due_at.isoformat(), "whistle_id": whistle_id}
    _tell_origin(complaint, "lead.late", payload, now)


def tell_returned(step: Step):
    """退回线索: the lead goes back to the origin, with the reason."""
    _tell_origin(step.complaint, "lead.return", {"reason": step.data["reason"]}, step.now)


def tell_result(step: Step):
    """答复 of a received lead: the origin hears the result, to answer its complainant."""
    if step.complaint.is_received_lead:
        _tell_origin(step.complaint, "lead.result", {"result": step.data["result"], "text": step.data["text"]},
                     step.now)  # fmt: skip


def backfill_lead_cards() -> dict[str, int]:
    """Old data: a card for each lead received before cards were kept. On one platform the lead's
    message is still in the origin's outbox (its id is the lead's external id): the card is filled
    from it. Elsewhere only the origin's bureau and case number are known (`partial`). The exact
    place of a lead received masked cannot be restored: the origin never sent it."""
    counts = {"filled": 0, "partial": 0}
    leads = db.session.scalars(
        select(Complaint).where(Complaint.channel == LEAD_CHANNEL, Complaint.lead.is_(None))
    ).all()
    sent = dict(db.session.execute(
        select(OutboxMessage.message_id, OutboxMessage.payload)
        .where(OutboxMessage.type == "lead.transfer", OutboxMessage.message_id.in_([c.external_id for c in leads]))
    ).all())  # fmt: skip
    for complaint in leads:
        payload = sent.get(complaint.external_id)
        if payload is not None:
            complaint.lead = {"origin_bureau": complaint.peer_bureau, **{key: payload.get(key) for key in _CARD}}
            complaint.lead["evidence"] = complaint.lead["evidence"] or []
            counts["filled"] += 1
        else:
            complaint.lead = {"origin_bureau": complaint.peer_bureau, "origin_case_no": complaint.peer_case_no,
                              "evidence": [], "incomplete": True}  # fmt: skip
            counts["partial"] += 1
    db.session.flush()
    return counts


# --- both sides, for the officers' screens ----------------------------------------------------


def list_transfers(officer: Officer) -> tuple[list[tuple[Complaint, str | None, str | None]], list[Complaint]]:
    """移送: the officer's bureaus' cases transferred out, each with the delivery state of its lead
    (queued, delivered, dead) and the last stage the peer acknowledged (signed, accepted); and the
    leads received from peers. Newest first, a few queries however many."""
    bureaus = officer.bureau_codes
    newest = (Complaint.received_at.desc(), Complaint.id.desc())
    sent = db.session.scalars(
        select(Complaint)
        .where(
            Complaint.bureau_code.in_(bureaus), Complaint.peer_bureau.is_not(None), Complaint.channel != LEAD_CHANNEL
        )
        .order_by(*newest)
        .limit(200)
    ).all()
    received = db.session.scalars(
        select(Complaint)
        .where(Complaint.bureau_code.in_(bureaus), Complaint.channel == LEAD_CHANNEL)
        .order_by(*newest)
        .limit(200)
    ).all()
    last_lead = (
        select(OutboxMessage.case_no, func.max(OutboxMessage.id).label("id"))
        .where(OutboxMessage.type == "lead.transfer", OutboxMessage.case_no.in_([c.case_no for c in sent]))
        .group_by(OutboxMessage.case_no)
        .subquery()
    )
    delivery = dict(db.session.execute(
        select(OutboxMessage.case_no, OutboxMessage.state).join(last_lead, OutboxMessage.id == last_lead.c.id)
    ).all())  # fmt: skip
    acks = {}
    stages = select(Event.complaint_id, Event.data).where(
        Event.complaint_id.in_([c.id for c in sent]), Event.action.in_(["lead_signed", "lead_accepted"])
    )
    for complaint_id, data in db.session.execute(stages.order_by(Event.seq)):
        acks[complaint_id] = data.get("stage")  # the latest
    return [(c, delivery.get(c.case_no), acks.get(c.id)) for c in sent], received
