"""留痕: every action an append-only event, the events of one case hash-chained."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ecoflow.audit import GENESIS, chain_hash, chain_problems
from ecoflow.complaints.models import Complaint, Event
from ecoflow.extensions import db
from ecoflow.officers.models import Officer


def event_record(case_no: str, event: Event) -> dict:
    """What an event's hash is taken over."""
    return {
        "case": case_no,
        "seq": event.seq,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor,
        "at": event.occurred_at.isoformat(),
        "data": event.data,
    }


def record_event(
    complaint: Complaint, actor: Officer | None, action: str, from_state: str | None, data: dict, now: datetime
) -> Event:
    """Append one hash-chained event to the case's trail."""
    event = Event(
        complaint=complaint,
        seq=complaint.event_seq + 1,
        action=action,
        from_state=from_state,
        to_state=complaint.state,
        actor=actor.username if actor else None,
        occurred_at=now,
        data=data,
        prev_hash=complaint.event_hash or GENESIS,
    )
    event.hash = chain_hash(event.prev_hash, event_record(complaint.case_no, event))
    complaint.event_seq, complaint.event_hash = event.seq, event.hash
    db.session.add(event)
    return event


def list_events(complaint: Complaint) -> list[Event]:
    """The case's trail, in order."""
    return db.session.scalars(select(Event).where(Event.complaint_id == complaint.id).order_by(Event.seq)).all()


def verify_audit_trails() -> dict[str, list[str]]:
    """Every case whose events were changed, removed or reordered, with what is wrong."""
    broken = {}
    complaints = db.session.execute(select(Complaint.id, Complaint.case_no, Complaint.event_seq, Complaint.event_hash))
    for complaint_id, case_no, head_seq, head_hash in complaints:
        events = db.session.scalars(select(Event).where(Event.complaint_id == complaint_id).order_by(Event.seq))
        links = ((e.seq, event_record(case_no, e), e.prev_hash, e.hash) for e in events)
        problems = chain_problems(links, head_seq, head_hash)
        if problems:
            broken[case_no] = problems
    return broken
