"""What each incoming message does here. Sits above the domains: it calls their services; nothing
below imports it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update

from ecoflow.casework.engine import perform_action
from ecoflow.complaints import history, leads
from ecoflow.escalation import services as escalation
from ecoflow.exposure import services as exposures
from ecoflow.extensions import db

from .models import ReceivedExposure
from .query import signed_answer


def _lead_transfer(envelope: dict, now: datetime) -> dict:
    complaint = leads.register_lead(envelope["from"], envelope["to"], envelope["id"], envelope["payload"], now)
    return {"case_no": complaint.case_no}


def _lead_answer(envelope: dict, now: datetime) -> dict:
    complaint, result = leads.record_peer_answer(
        envelope["from"], envelope["to"], envelope["type"], envelope["payload"], now
    )
    if result is not None:  # the case waited for it: back to handling
        perform_action(None, complaint, "lead_result", result, now)
    return {"case_no": complaint.case_no, "state": complaint.state}


def _origin_changed(envelope: dict, now: datetime) -> dict:
    """The origin closed or reopened: the lead's case here follows (close_lead, reopen_lead)."""
    complaint, action, data = leads.origin_changed(
        envelope["from"], envelope["to"], envelope["type"], envelope["payload"], now
    )
    if action is not None:
        perform_action(None, complaint, action, data, now)
    return {"case_no": complaint.case_no, "state": complaint.state}


def _whistle(envelope: dict, now: datetime) -> dict:
    whistle = escalation.whistle_from_peer(envelope["from"], envelope["to"], envelope["payload"], now)
    return {"whistle": whistle.id, "case_no": whistle.complaint.case_no}


def _report_in(envelope: dict, now: datetime) -> dict:
    party = escalation.report_in_from_peer(envelope["from"], envelope["to"], envelope["payload"], now)
    return {"whistle": party.whistle_id, "reported_at": party.reported_at.isoformat()}


def _exposure(envelope: dict, now: datetime) -> dict:
    """Stored as it came, for the exposure board to show beside this bureau's own; its photos kept in
    the storage as copies made here without metadata (the payload names their hashes)."""
    payload = exposures.keep_peer_photos(envelope["payload"])
    db.session.execute(insert(ReceivedExposure).values(
        message_id=envelope["id"], bureau_code=envelope["from"], case_no=payload["case_no"],
        payload=payload, received_at=now,
    ))  # fmt: skip
    return {"case_no": envelope["payload"]["case_no"]}


def _exposure_withdrawn(envelope: dict, now: datetime) -> dict:
    """The publisher took the case off its board: it leaves this one. It comes after the case's
    publish (same case, applied in order), so a case not received here was never sent here (say, to
    a peer joined since): then there is nothing to take off, and it is applied, not refused until dead."""
    payload = envelope["payload"]
    withdrawn = db.session.execute(
        update(ReceivedExposure)
        .where(ReceivedExposure.bureau_code == envelope["from"], ReceivedExposure.case_no == payload["case_no"])
        .where(ReceivedExposure.withdrawn_at.is_(None))
        .values(withdrawn_at=datetime.fromisoformat(payload["withdrawn_at"]))
    ).rowcount
    return {"case_no": payload["case_no"], "withdrawn": withdrawn}


def _history(envelope: dict, now: datetime) -> dict:
    """Summaries only: the answer names no complainant and is signed like any message."""
    payload = envelope["payload"]
    items = history.local_history(payload["complainant_key"], payload["place_key"])
    return signed_answer(envelope, "history.answer", {"items": items}, now)


# What each incoming message type does; create_app gives it to the inbox, which knows no domain.
HANDLERS = {
    "lead.transfer": _lead_transfer,
    "lead.ack": _lead_answer,
    "lead.return": _lead_answer,
    "lead.result": _lead_answer,
    "lead.late": _lead_answer,
    "lead.closed": _origin_changed,
    "lead.reopened": _origin_changed,
    "whistle.blow": _whistle,
    "whistle.report_in": _report_in,
    "exposure.publish": _exposure,
    "exposure.withdraw": _exposure_withdrawn,
    "history.query": _history,
}
