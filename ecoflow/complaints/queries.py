"""Reading cases: one by its number, lists and the workbench, the dispatch queue, the officers a case
can go to, the extension requests waiting for a decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import defer, joinedload, lazyload, selectinload

from ecoflow.casework.access import check_can_view, responsible_role, role_set
from ecoflow.casework.clocks import PENDING
from ecoflow.errors import NotFound
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer, RoleGrant, Unit
from ecoflow.rest import is_printable

from .models import Clock, Complaint, Event, Extension
from .search import overdue_condition, text_matches


def get_complaint(officer: Officer, case_no: str) -> Complaint:
    """The complaint with this case number, if the officer may see it."""
    valid = len(case_no) <= 40 and is_printable(case_no)
    complaint = db.session.scalars(_BY_CASE_NO, {"case_no": case_no}).unique().one_or_none() if valid else None
    if complaint is None:
        raise NotFound(f"案件 {case_no} 不存在。", code="unknown_case")
    check_can_view(officer, complaint)
    return complaint


# Built once: making a statement with its loader options costs more than running it.
# Of the unit and the officer only what a case shows (their codes and names), not every column.
_BY_CASE_NO = (
    select(Complaint)
    .options(
        joinedload(Complaint.category_rows),
        joinedload(Complaint.clocks),
        joinedload(Complaint.unit).load_only(Unit.code, Unit.name),
        joinedload(Complaint.officer).load_only(Officer.username, Officer.name),
    )
    .where(Complaint.case_no == bindparam("case_no"))
)


def workbench(officer: Officer, filters: dict, now: datetime, limit: int = 500) -> tuple[list[Complaint], dict]:
    """我的工作台: the open cases the officer answers for, the nearest running deadline first,
    and how many of them are in each state (before the state filter)."""
    norm = get_norm()
    open_states = [name for name, state in norm.states.items() if not state.get("final")]
    # Roles of access.yaml's bureau_wide answer for every open case of their bureau (or unit, when
    # held for one); any other role only for the officer's own.
    bureau_wide = role_set("bureau_wide")
    wide = [g for g in officer.grants if g.role in bureau_wide]
    mine = or_(
        Complaint.officer_id == officer.id,
        Complaint.bureau_code.in_([g.bureau_code for g in wide if g.unit_id is None]),
        Complaint.unit_id.in_([g.unit_id for g in wide if g.unit_id is not None]),  # a role held for one unit
    )
    scope = [mine, Complaint.state.in_(open_states)]
    by_state = select(Complaint.state, func.count()).where(*scope).group_by(Complaint.state)
    counts = dict(db.session.execute(by_state).all())
    due = (
        select(Clock.complaint_id, func.min(Clock.due_at).label("due_at"))
        .where(Clock.stopped_at.is_(None))
        .group_by(Clock.complaint_id)
        .subquery()
    )
    # Only what a row shows: the running clocks, the officer; not the suggestion, categories, unit.
    query = (
        select(Complaint)
        .options(
            defer(Complaint.suggestion),
            lazyload(Complaint.category_rows),
            lazyload(Complaint.unit),
            selectinload(Complaint.clocks.and_(Clock.stopped_at.is_(None))),
        )
        .outerjoin(due, due.c.complaint_id == Complaint.id)
        .where(*scope)
    )
    if filters.get("state"):
        query = query.where(Complaint.state == filters["state"])
    if filters.get("overdue"):
        query = query.where(overdue_condition(True, now))
    if filters.get("text"):
        query = query.where(text_matches(officer, filters["text"]))
    query = query.order_by(due.c.due_at.is_(None), due.c.due_at, Complaint.received_at, Complaint.id).limit(limit)
    return db.session.scalars(query).all(), counts


def dispatch_queue(officer: Officer) -> list[Complaint]:
    """分级派单: the cases of the officer's bureaus waiting to be assigned, oldest first."""
    assign = get_norm().actions["assign"]
    bureaus = [code for code in officer.bureau_codes if assign.roles & officer.roles_for(code)]
    waiting = assign.sources
    query = select(Complaint).where(Complaint.bureau_code.in_(bureaus), Complaint.state.in_(waiting))
    return db.session.scalars(query.order_by(Complaint.received_at, Complaint.id).limit(500)).all()


def last_returns(complaints) -> dict[int, dict]:
    """退单: for each case of the dispatch queue sent back by its unit, the latest return's record
    (reason, from_unit) and who and when; one query for the whole queue."""
    ids = [c.id for c in complaints]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Event.complaint_id, Event.data, Officer.name, Event.occurred_at)
        .outerjoin(Officer, Officer.username == Event.actor)
        .where(Event.complaint_id.in_(ids), Event.action == "return")
        .order_by(Event.complaint_id, Event.seq)
    )
    returns = {complaint_id: {**data, "by": name, "at": at} for complaint_id, data, name, at in rows}
    codes = {r.get("from_unit") for r in returns.values()} - {None}
    units = dict(db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all()) if codes else {}
    for r in returns.values():
        r["unit"] = units.get(r.get("from_unit"), "")
    return returns


def assignable_officers(bureau_codes) -> list[Officer]:
    """The active officers who hold the officer role in these bureaus, with their units."""
    holders = select(RoleGrant.officer_id).where(
        RoleGrant.role == responsible_role(), RoleGrant.bureau_code.in_(bureau_codes)
    )
    query = select(Officer).options(joinedload(Officer.unit)).where(Officer.id.in_(holders), Officer.is_active)
    return db.session.scalars(query.order_by(Officer.unit_id, Officer.username)).all()


def leaders(bureau_codes) -> list[Officer]:
    """The active officers who hold the role of a unit's 分管领导 (ladder.yaml's unit_leader) in these bureaus."""
    role = get_norm().ladder.parties["unit_leader"]["role"]
    holders = select(RoleGrant.officer_id).where(RoleGrant.role == role, RoleGrant.bureau_code.in_(bureau_codes))
    query = select(Officer).where(Officer.id.in_(holders), Officer.is_active)
    return db.session.scalars(query.order_by(Officer.username)).all()


def pending_extensions(officer: Officer) -> list[tuple[Extension, Complaint]]:
    """Extension requests of the officer's bureaus waiting for a decision, oldest first."""
    query = (
        select(Extension, Complaint)
        .join(Complaint, Extension.complaint_id == Complaint.id)
        .join(Clock, Clock.id == Extension.clock_id)
        .where(Complaint.bureau_code.in_(officer.bureau_codes), *PENDING)
        .order_by(Extension.requested_at)
    )
    return db.session.execute(query).all()
