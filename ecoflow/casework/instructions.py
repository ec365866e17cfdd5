"""领导批示: a leader's instruction on a case, with the clock `instruction_report` by which it must be
reported back (报结), and the 报结 that closes it and sends the result to the instructing leader.
Flushes; the caller commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ecoflow.complaints.models import Complaint
from ecoflow.complaints.privacy import redact
from ecoflow.errors import ApiError, Conflict
from ecoflow.extensions import db
from ecoflow.norm import Period
from ecoflow.norm.current import get_norm
from ecoflow.notifications.services import notify
from ecoflow.officers.models import Officer, RoleGrant
from ecoflow.petitions.models import Instruction

from .clocks import start_clock
from .step import Step

CLOCK = "instruction_report"


def open_instruction(complaint: Complaint) -> Instruction | None:
    """The case's instruction not reported back yet (one at a time: its clock is the case's one running
    `instruction_report`)."""
    if complaint.running_clock(CLOCK) is None:
        return None
    return db.session.scalar(
        select(Instruction).where(Instruction.complaint_id == complaint.id, Instruction.reported_at.is_(None))
    )


def add_instruction(complaint: Complaint, spec: dict, actor: Officer | None, now: datetime) -> Instruction:
    """A leader's instruction on the case: its report-back clock runs from when it was given, in whole
    days (due at the end of the last one, Beijing time)."""
    given = spec.get("given_at") or now
    clock = start_clock(complaint, CLOCK, Period(spec["report_days"], "calendar_days"), given)
    db.session.flush()
    instruction = Instruction(
        complaint_id=complaint.id, leader_name=spec["leader_name"], leader_title=spec["leader_title"],
        text=spec["text"], instructed_at=given, report_days=spec["report_days"],
        instructed_by_id=actor.id if actor is not None and spec.get("by_actor", True) else None, clock_id=clock.id,
    )  # fmt: skip
    db.session.add(instruction)
    return instruction


def instruct_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """批示: one at a time; the next after the 报结 of the last."""
    if complaint.running_clock(CLOCK) is not None:
        return Conflict("本案已有一项领导批示等待报结，报结后方可再作批示。", code="instruction_open")
    return None


def report_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """报结 needs an instruction waiting for it."""
    if complaint.running_clock(CLOCK) is None:
        return Conflict("本案没有等待报结的领导批示。", code="no_open_instruction")
    return None


def instruct(step: Step):
    """批示 by a leader in EcoFlow: the 报结 will go to their inbox."""
    data = step.data
    spec = {key: data[key] for key in ("leader_name", "leader_title", "text", "report_days")}
    instruction = add_instruction(step.complaint, spec, step.actor, step.now)
    step.record["due_at"] = step.complaint.running_clock(CLOCK).due_at.isoformat()
    step.record["instruction"] = instruction.id


def _bureau_leaders(bureau_code: str) -> list[int]:
    role = get_norm().ladder.parties["bureau_leader"]["role"]
    return db.session.scalars(
        select(RoleGrant.officer_id).where(
            RoleGrant.bureau_code == bureau_code, RoleGrant.role == role, RoleGrant.unit_id.is_(None)
        )
    ).all()


def report_back(step: Step):
    """报结: the result to the instructing leader's inbox (the bureau's leaders for an instruction
    registered at intake); the instruction closes, its clock stops with the action."""
    complaint = step.complaint
    instruction = open_instruction(complaint)
    instruction.reported_at, instruction.reported_by_id = step.now, step.actor.id
    instruction.result = step.data["result"]
    recipients = (
        [instruction.instructed_by_id] if instruction.instructed_by_id else _bureau_leaders(complaint.bureau_code)
    )
    notify(
        recipients,
        "report_back",
        f"报结：{instruction.leader_title}{instruction.leader_name}对案件 {complaint.case_no} 的批示已办理。"
        f"{redact(step.data['result'], complaint)}",
        complaint.case_no,
        step.now,
    )
    step.record["instruction"] = instruction.id
