"""What each incoming message does here. Sits above the domains: it calls their services; nothing
below imports it."""

from __future__ import annotations

from datetime import datetime

from ecoflow.complaints import leads

from .inbox import handles


@handles("lead.transfer")
def _lead_transfer(envelope: dict, now: datetime) -> dict:
    complaint = leads.register_lead(envelope["from"], envelope["to"], envelope["id"], envelope["payload"], now)
    return {"case_no": complaint.case_no}


@handles("lead.ack")
@handles("lead.return")
@handles("lead.result")
def _lead_answer(envelope: dict, now: datetime) -> dict:
    complaint = leads.record_peer_answer(envelope["from"], envelope["to"], envelope["type"], envelope["payload"], now)
    return {"case_no": complaint.case_no, "state": complaint.state}
