"""留痕: every action an append-only event, the events of one case hash-chained."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from ecoflow.audit import GENESIS, canonical, chain_hash, chain_problems
from ecoflow.complaints.models import CaseCounter, Complaint, Event
from ecoflow.extensions import db
from ecoflow.officers.models import Officer

# The rules an event's hash was taken by. 1: the event alone (events written before the case was put
# under the chain). 2: the event and the digest of the complaint's own record as the action left it, so
# that a row changed behind the trail's back no longer matches its last event.
CURRENT_RULE = 2
# What a person could alter in a complaint's row to change the story.
CASE_FIELDS = ("description", "complainant_name", "complainant_phone", "address", "district_code", "grade",
               "state", "unit_id", "officer_id")  # fmt: skip


def case_digest(complaint: Complaint) -> str:
    """The digest of the complaint's own record: its story's fields and its categories."""
    record = {name: getattr(complaint, name) for name in CASE_FIELDS}
    record["categories"] = sorted(complaint.categories)
    return hashlib.sha256(canonical(record)).hexdigest()


def event_record(case_no: str, event: Event) -> dict:
    """What an event's hash is taken over, by the rule it was written under."""
    record = {
        "case": case_no,
        "seq": event.seq,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor,
        "at": event.occurred_at.isoformat(),
        "data": event.data,
    }
    if event.rule >= 2:
        record.update(rule=event.rule, case_digest=event.case_digest)
    return record


def record_event(
    complaint: Complaint, actor: Officer | None, action: str, from_state: str | None, data: dict, now: datetime
) -> Event:
    """Append one hash-chained event to the case's trail, covering the complaint as it stands now."""
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
        rule=CURRENT_RULE,
        case_digest=case_digest(complaint),
    )
    event.hash = chain_hash(event.prev_hash, event_record(complaint.case_no, event))
    complaint.event_seq, complaint.event_hash = event.seq, event.hash
    db.session.add(event)
    return event


def list_events(complaint: Complaint) -> list[Event]:
    """The case's trail, in order."""
    return db.session.scalars(select(Event).where(Event.complaint_id == complaint.id).order_by(Event.seq)).all()


def verify_audit_trails() -> dict[str, list[str]]:
    """Every case whose events were changed, removed or reordered, whose own record no longer matches
    its last event, or which is missing whole, with what is wrong."""
    broken = {}
    complaints = db.session.scalars(select(Complaint).options(*_ROW_ONLY).order_by(Complaint.id))
    present = set()
    for complaint in complaints:
        present.add(complaint.case_no)
        events = db.session.scalars(select(Event).where(Event.complaint_id == complaint.id).order_by(Event.seq)).all()
        links = ((e.seq, event_record(complaint.case_no, e), e.prev_hash, e.hash) for e in events)
        problems = chain_problems(links, complaint.event_seq, complaint.event_hash)
        last = events[-1] if events else None
        if last is not None and last.rule >= 2 and last.case_digest != case_digest(complaint):
            problems.append(f"the case's own record no longer matches its last record ({last.seq})")
        if problems:
            broken[complaint.case_no] = problems
    # Case numbers are given out without gaps per bureau and day (a registration that fails gives its
    # number back): a number below the day's last that has no case is a case deleted whole.
    for bureau, day, last in db.session.execute(select(CaseCounter.bureau_code, CaseCounter.day, CaseCounter.last)):
        for number in range(1, last + 1):
            case_no = f"{bureau}-{day}-{number:04d}"
            if case_no not in present:
                broken[case_no] = ["the case is missing: deleted with its records"]
    return broken


_ROW_ONLY = (lazyload(Complaint.clocks), lazyload(Complaint.unit), lazyload(Complaint.officer))
