"""回单: what goes back to the hotline centre a case came from, action by action (docs/centres.md).

The one place that maps the norm's actions to the centre's events and their fields, so that an
adapter for a vendor's own format has one module to replace. Written to the outbox in the action's
transaction; the outbox delivers it after the commit."""

from __future__ import annotations

from ecoflow.casework.step import Step
from ecoflow.complaints.effects import follow_up_outcome
from ecoflow.exchange.outbox import enqueue_callback

from .models import callback_centre


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
    enqueue_callback(complaint.bureau_code, centre, complaint.case_no, event[0], payload, step.now)
