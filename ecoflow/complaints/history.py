"""信访大数据共享: earlier complaints by the same complainant (matched by the keyed hash of the phone
number, never the number) or at the same place, in every bureau, as summaries without personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from ecoflow.casework.access import check_can_view
from ecoflow.exchange.query import ask_peers
from ecoflow.extensions import db
from ecoflow.officers.models import Officer
from ecoflow.timeutil import utcnow

from .intake import complainant_key, place_key
from .models import Complaint, Event
from .privacy import redact

LIMIT = 50


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def local_history(complainant_key: str | None, place_key: str | None, exclude: int | None = None) -> list[dict]:
    """Summaries of this instance's complaints (every bureau it hosts) that match, newest first."""
    matches = []
    if complainant_key:
        matches.append(Complaint.complainant_key == complainant_key)
    if place_key:
        matches.append(Complaint.place_key == place_key)
    if not matches:
        return []
    query = select(Complaint).where(or_(*matches))
    if exclude is not None:
        query = query.where(Complaint.id != exclude)
    complaints = db.session.scalars(query.order_by(Complaint.received_at.desc()).limit(LIMIT)).all()
    replies = {}
    events = select(Event).where(Event.complaint_id.in_([c.id for c in complaints]), Event.action == "reply")
    for event in db.session.scalars(events.order_by(Event.seq)):
        replies[event.complaint_id] = event  # the last answer given
    summaries = []
    for complaint in complaints:
        reply = replies.get(complaint.id)
        summaries.append({
            "bureau": complaint.bureau_code, "case_no": complaint.case_no, "channel": complaint.channel,
            "type": complaint.type, "categories": list(complaint.categories), "grade": complaint.grade,
            "state": complaint.state, "received_at": _iso(complaint.received_at),
            "closed_at": _iso(complaint.closed_at), "replied_at": _iso(reply.occurred_at) if reply else None,
            # The answer is the officer's free text, which may repeat the complainant's name or phone.
            "result": redact(reply.data.get("result"), complaint) if reply else None,
            "answer": redact(reply.data.get("text"), complaint) if reply else None,
            "matched_by": [name for name, hit in (
                ("complainant", complainant_key and complaint.complainant_key == complainant_key),
                ("place", place_key and complaint.place_key == place_key)) if hit],
        })  # fmt: skip
    return summaries


def rehash_complainants() -> int:
    """Set every complaint's keyed hashes of its phone number and address with the configured
    HISTORY_KEY (after an upgrade, or when the three bureaus change the key); returns how many changed.
    A lead received without the address keeps the origin's place key."""
    changed = 0
    for complaint in db.session.scalars(select(Complaint)):
        keys = (
            complainant_key(complaint.complainant_phone) or complaint.complainant_key,
            place_key(complaint.address) if complaint.channel != "peer_transfer" else complaint.place_key,
        )
        if (complaint.complainant_key, complaint.place_key) != keys:
            complaint.complainant_key, complaint.place_key = keys
            changed += 1
    return changed


def complaint_history(officer: Officer, complaint: Complaint) -> list[dict]:
    """What the officer sees before handling: earlier complaints by this complainant or at this
    place, here and (over the exchange) at every peer, newest first."""
    check_can_view(officer, complaint)
    items = local_history(complaint.complainant_key, complaint.place_key, exclude=complaint.id)
    # Only keyed hashes cross the border: never the number, never the address.
    question = {"complainant_key": complaint.complainant_key, "place_key": complaint.place_key}
    for peer, answer in ask_peers("history.query", "history.answer", complaint.bureau_code, question, utcnow()).items():
        # A peer speaks for itself: an item naming another bureau is not that bureau's word.
        items.extend(item for item in answer["items"] if item["bureau"] == peer)
    return sorted(items, key=lambda item: item["received_at"], reverse=True)
