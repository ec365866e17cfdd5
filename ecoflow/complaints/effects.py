"""What the complaint actions of workflows/lifecycle.yaml do to the case beyond changing its state:
merge, grade, assign, reassign, return. The engine's table (casework/engine.py) says which runs when."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ecoflow.casework.access import responsible_role, role_labels, role_set, roles_on
from ecoflow.casework.clocks import regrade_clocks, set_grade_clocks
from ecoflow.casework.step import Step
from ecoflow.errors import Forbidden, Invalid
from ecoflow.extensions import db
from ecoflow.officers.models import Officer, Unit

from .models import Complaint


def is_unresolved(data: dict) -> bool:
    """The condition `unresolved` of the 回访's outcomes (workflows/lifecycle.yaml): not solved, or 不满意."""
    return not data["resolved"] or data["satisfaction"] == "unsatisfied"


def follow_up_outcome(step: Step) -> str | None:
    """What the 回访 being taken will do: `reopened` (重办), `closed`, or None (left to the leader's 销号)."""
    if is_unresolved(step.data):
        return "reopened"
    return None if step.complaint.is_on_ledger else "closed"


def _field_error(name: str, message: str) -> Invalid:
    return Invalid(message, {"fields": {name: [message]}})


def merge_case(step: Step):
    """合并: into a case of the same bureau, not itself, not one that ended without closing."""
    target = db.session.scalar(select(Complaint).where(Complaint.case_no == step.data["into"]))
    if target is None or target.bureau_code != step.complaint.bureau_code:
        raise _field_error("into", f"本单位没有案件 {step.data['into']}。")
    if target.id == step.complaint.id:
        raise _field_error("into", "不能合并到案件自身。")
    if step.norm.states[target.state].get("final") and target.state != "closed":
        raise _field_error(
            "into", f"案件 {target.case_no} 已{step.norm.states[target.state]['label']}，不能作为合并目标。"
        )
    step.complaint.merged_into_id = target.id


def _apply_grade(step: Step):
    """分级: the grade, the categories, the ledger, and the grade's clocks."""
    complaint, data, norm = step.complaint, step.data, step.norm
    complaint.grade = data["grade"]
    complaint.categories = sorted(set(data["categories"]))
    complaint.is_on_ledger = norm.grades[complaint.grade].ledger
    suggested = complaint.suggestion
    if data["grade"] != suggested["grade"] or sorted(set(data["categories"])) != sorted(suggested["categories"]):
        step.record["overrides_suggestion"] = {"grade": suggested["grade"], "categories": suggested["categories"]}
    set_grade_clocks(step)


def grade_case(step: Step):
    """分级."""
    _apply_grade(step)


# The unit named, with the officer named (and the roles they hold) if there is one: one statement.
_UNIT_AND_OFFICER = (
    select(Unit, Officer)
    .outerjoin(Officer, Officer.username == bindparam("username"))
    .options(joinedload(Officer.grants))
    .where(Unit.bureau_code == bindparam("bureau_code"), Unit.code == bindparam("code"))
)


def _unit_and_officer(step: Step) -> tuple[Unit, Officer]:
    """The active unit of the case's bureau and its active responsible officer that the step names."""
    complaint, data = step.complaint, step.data
    found = (
        db.session.execute(
            _UNIT_AND_OFFICER, {"bureau_code": complaint.bureau_code, "code": data["unit"], "username": data["officer"]}
        )
        .unique()
        .one_or_none()
    )
    if found is None or not found[0].is_active:
        raise _field_error("unit", f"本单位没有代码为 {data['unit']} 的在用承办单位。")
    unit, officer = found
    if (
        officer is None
        or not officer.is_active
        or responsible_role() not in officer.roles_for(complaint.bureau_code, unit.id)
    ):
        raise _field_error("officer", f"{data['officer']} 不是{unit.name}的承办人。")
    return unit, officer


def assign_case(step: Step):
    """派单: to a unit of the bureau and one of its active officers; grading in the same step when asked
    (and needed when the case is not graded yet)."""
    complaint, data = step.complaint, step.data
    unit, officer = _unit_and_officer(step)
    if "grade" in data or complaint.grade is None:
        missing = {f: ["派单时一并分级，需要填写此项。"] for f in ("grade", "categories") if f not in data}
        if missing:
            raise Invalid("未分级的案件派单时须同时填写分级和类别。", {"fields": missing})
        _apply_grade(step)
    elif "categories" in data:
        complaint.categories = sorted(set(data["categories"]))
    complaint.unit_id, complaint.officer_id = unit.id, officer.id
    complaint.unit, complaint.officer = unit, officer


def return_case(step: Step):
    """退单: the case leaves the unit and its officer, back to dispatch."""
    step.record["from_unit"] = step.complaint.unit.code
    step.complaint.unit_id = step.complaint.officer_id = None
    step.complaint.unit = step.complaint.officer = None


def reassign_case(step: Step):
    """改派: to another unit or officer of the bureau, who signs for it again (the engine restarts the
    签收 clock); the reply clock runs on."""
    complaint = step.complaint
    unit, officer = _unit_and_officer(step)
    if officer.id == complaint.officer_id:
        raise _field_error("officer", f"案件已由{officer.name}承办，请选择另一位承办人。")
    step.record["from_unit"] = complaint.unit.code if complaint.unit else None
    step.record["from_officer"] = complaint.officer.username if complaint.officer else None
    complaint.unit_id, complaint.officer_id = unit.id, officer.id
    complaint.unit, complaint.officer = unit, officer


def regrade_case(step: Step):
    """改级 after assignment: the new grade (and categories, when given); the running clocks re-timed by
    it (NORM.md); a case raised to a ledger grade goes onto the ledger, one lowered from it leaves it
    only by a role of access.yaml's `lowers_from_ledger`, the reason on the record."""
    complaint, data, norm = step.complaint, step.data, step.norm
    old, new = complaint.grade, data["grade"]
    if new == old:
        raise _field_error("grade", f"案件已是{norm.grades[new].label}，请选择另一个分级。")
    # Raised (urgent above key) the case stays where it was; lowered from a ledger grade it leaves.
    order = list(norm.grades)
    lowered = order.index(new) > order.index(old)
    leaves_ledger = complaint.is_on_ledger and lowered and not norm.grades[new].ledger
    if leaves_ledger and not role_set("lowers_from_ledger") & roles_on(step.actor, complaint):
        raise Forbidden(
            f"挂账案件降级须由{role_labels('lowers_from_ledger')}决定。",
            {"required_roles": sorted(role_set("lowers_from_ledger"))},
            code="role_not_allowed",
        )
    step.record["from_grade"] = old
    complaint.grade = new
    if "categories" in data:
        complaint.categories = sorted(set(data["categories"]))
    if norm.grades[new].ledger and not complaint.is_on_ledger:
        complaint.is_on_ledger = True
        step.record["ledger"] = "added"
    elif leaves_ledger:
        complaint.is_on_ledger = False
        step.record["ledger"] = "removed"
    regrade_clocks(step)
