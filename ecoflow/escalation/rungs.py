"""The ladder's rungs (NORM.md, "Escalation ladder"): what a due clock does. Sits above the domains
and the engine: a rung notifies, opens a 督办, blows a whistle, and transfers a late case whose
place is another bureau's, as an action of the engine."""

from __future__ import annotations

import logging
from datetime import datetime

from ecoflow.casework.clocks import end_pause_at_cap, running_since
from ecoflow.casework.engine import perform_action
from ecoflow.casework.trail import record_event
from ecoflow.complaints import leads
from ecoflow.complaints.models import Clock, Complaint
from ecoflow.errors import ApiError
from ecoflow.extensions import db, dialect_insert
from ecoflow.norm import Norm
from ecoflow.norm.current import get_norm
from ecoflow.notifications.services import notify

from .models import ClockRung, Supervision
from .services import blow_whistle, local_minute, party_officer_ids

log = logging.getLogger(__name__)


def fire_due_rungs(clock: Clock, now: datetime) -> list[str]:
    """Fire, in order, every rung of this clock that is due by `now`; returns their names."""
    fired, notices = [], []
    if clock.paused_at is not None and clock.next_rung_at <= now:
        end_pause_at_cap(clock, now)
    while clock.next_rung_at is not None and clock.next_rung_at <= now:
        rung = clock.next_rung
        if _claim_rung(clock, rung, now):
            notices.append(_apply_rung(clock, rung, now))
            fired.append(rung)
        clock.rung = rung
        complaint = clock.complaint
        clock.next_rung, clock.next_rung_at = get_norm().ladder.next_rung(
            rung, complaint.grade, running_since(clock), clock.due_at
        )
    _tell_once(clock, notices, now)
    return fired


def _tell_once(clock: Clock, notices: list[tuple[str, str, list[int]]], now: datetime):
    """One notice per officer for the rungs one sweep fired on a clock already past several (预警 and
    超期 of a clock found late): the last rung's, naming the ones passed on the way."""
    told = [(name, message, recipients) for name, message, recipients in notices if recipients]
    if not told:
        return
    name, message, _ = told[-1]
    passed = [get_norm().ladder.rung(n).label for n, _, _ in told[:-1]]
    if passed:
        message += f"（已越过{'、'.join(passed)}）"
    notify([o for _, _, recipients in told for o in recipients], name, message, clock.complaint.case_no, now)


def _claim_rung(clock: Clock, rung: str, now: datetime) -> bool:
    """Record that `rung` fired on `clock`; False when it had fired already (the unique key says)."""
    claimed = db.session.execute(
        dialect_insert(ClockRung)
        .values(clock_id=clock.id, rung=rung, fired_at=now, due_at=clock.due_at)
        .on_conflict_do_nothing(index_elements=["clock_id", "rung"])
        .returning(ClockRung.id)
    ).scalar()
    return claimed is not None


def _apply_rung(clock: Clock, name: str, now: datetime) -> tuple[str, str, list[int]]:
    """The rung's record, 督办, whistle and transfer; returns its notice (told by the caller, once)."""
    norm = get_norm()
    rung = norm.ladder.rung(name)
    complaint = clock.complaint
    kind_label = norm.clocks[clock.kind].label
    message = f"案件 {complaint.case_no}「{kind_label}」期限 {local_minute(clock.due_at)}：{rung.label}"
    recipients = [o for party in rung.notify for o in party_officer_ids(party, complaint)]
    data = {"clock": clock.kind, "due_at": clock.due_at.isoformat(), "by": "ladder"}
    if rung.opens_supervision:
        db.session.add(Supervision(complaint_id=complaint.id, clock_id=clock.id, opened_at=now, note=message))
    if rung.summon:
        whistle = blow_whistle(complaint, message, list(rung.summon), None, now, clock=clock)
        data["whistle"] = whistle.id
        if complaint.is_received_lead and clock.kind in norm.lead_clocks:
            leads.tell_late(complaint, clock, whistle.id, now)  # the origin sees the receiver's lateness
    complaint.updated_at = now
    record_event(complaint, None, name, complaint.state, data, now)
    if rung.transfers:
        _transfer_if_elsewhere(complaint, norm, now)
    return name, message, recipients


def _transfer_if_elsewhere(complaint: Complaint, norm: Norm, now: datetime):
    """线索移送 by the ladder: a late case in handling whose place lies in another bureau's jurisdiction.
    Not a lead a peer sent here: it is here by that peer's decision, and only an officer sends it back."""
    if complaint.is_received_lead:
        return
    bureau = norm.bureau_of_place(complaint.district_code)
    if complaint.state != "handling" or bureau in (None, complaint.bureau_code):
        return
    place = f"{norm.catalog['bureaus'][bureau]}辖区（区划代码 {complaint.district_code}）"
    reason = f"案件超期，且诉求地点位于{place}，由系统移送。"
    try:
        with db.session.begin_nested():
            perform_action(None, complaint, "transfer", {"to_bureau": bureau, "reason": reason}, now)
    except ApiError as exc:
        # The case is late all the same (the rung stands, once); the officer transfers it by hand
        # when it can go, rather than the sweep trying it again and again.
        log.warning("Ladder could not transfer %s to %s: %s", complaint.case_no, bureau, exc.message)
        record_event(complaint, None, "transfer_failed", complaint.state,
                     {"to_bureau": bureau, "reason": exc.message, "by": "ladder"}, now)  # fmt: skip
        recipients = party_officer_ids("officer", complaint) + party_officer_ids("unit_supervisor", complaint)
        notify(recipients, "transfer_failed",
               f"案件 {complaint.case_no} 已超期，诉求地点位于{place}，系统未能自动移送：{exc.message}"
               "请核实后人工移送或继续办理。", complaint.case_no, now)  # fmt: skip
