"""The rules of a complaint's life: intake, every action of workflows/lifecycle.yaml, its clocks,
its audit trail. Services take the acting officer and the time; they flush, the caller commits."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload, lazyload, selectinload

from ecoflow.audit import GENESIS, chain_hash, chain_problems
from ecoflow.errors import Conflict, Forbidden, Invalid, NotFound
from ecoflow.extensions import db
from ecoflow.norm import Action, Norm, Period
from ecoflow.officers.models import Officer, RoleGrant, Unit
from ecoflow.rest import is_printable
from ecoflow.routing import route_address
from ecoflow.timeutil import SHANGHAI

from . import privacy
from .duplicates import count_repeats, earlier_complaints, with_complaints
from .grading import keyword_categories, suggest_grade
from .models import CaseCounter, Clock, Complaint, ComplaintCategory, Event, Extension, Pause, PersonalDataView

log = logging.getLogger(__name__)

# Received times further in the future than this are refused (clocks of other systems drift a little).
CLOCK_SKEW = timedelta(minutes=5)


def get_norm() -> Norm:
    return current_app.extensions["ecoflow.norm"]


def _machine():
    return current_app.extensions["ecoflow.machine"]


# --- conditions named in workflows/lifecycle.yaml ---------------------------------------------


def _unresolved(event) -> bool:
    data = event.kwargs["data"]
    return not data["resolved"] or data["satisfaction"] == "unsatisfied"


def _on_ledger(event) -> bool:
    return event.model.is_on_ledger


CONDITIONS = {"unresolved": _unresolved, "on_ledger": _on_ledger}


# --- who may do what --------------------------------------------------------------------------


def roles_on(officer: Officer, complaint: Complaint) -> set[str]:
    return officer.roles_for(complaint.bureau_code, complaint.unit_id)


def check_can_view(officer: Officer, complaint: Complaint):
    if complaint.bureau_code not in officer.bureau_codes:
        raise Forbidden(f"无权查看其他单位的案件 {complaint.case_no}。", code="other_bureau")


def allowed_actions(officer: Officer, complaint: Complaint) -> list[str]:
    """The actions this officer may take on this complaint now, in the norm's order."""
    roles = roles_on(officer, complaint)
    return [
        action.name
        for action in get_norm().actions.values()
        if complaint.state in action.sources
        and roles & action.roles
        and (not action.assignee_only or complaint.officer_id == officer.id)
    ]


def may_see_personal_data(officer: Officer, complaint: Complaint) -> bool:
    """Intake sees the complainant; so does the responsible officer, unless dispatched anonymously."""
    if "intake" in roles_on(officer, complaint):
        return True
    return complaint.officer_id == officer.id and not complaint.is_sensitive


def reveal_personal_data(officer: Officer, complaint: Complaint, purpose: str, now: datetime) -> bool:
    """Whether to show this officer the complainant unmasked; every time it is, that is logged."""
    if not may_see_personal_data(officer, complaint):
        return False
    # A plain Core insert, no ORM and no RETURNING: the log is append-only and nothing reads it back here.
    view = {"complaint_id": complaint.id, "officer_id": officer.id, "viewed_at": now, "purpose": purpose}
    db.session.connection().execute(_LOG_VIEW, view)
    return True


_LOG_VIEW = insert(PersonalDataView.__table__)


# --- reading ----------------------------------------------------------------------------------


def get_complaint(officer: Officer, case_no: str) -> Complaint:
    """The complaint with this case number, if the officer may see it."""
    valid = len(case_no) <= 40 and is_printable(case_no)
    complaint = db.session.scalars(_BY_CASE_NO, {"case_no": case_no}).unique().one_or_none() if valid else None
    if complaint is None:
        raise NotFound(f"案件 {case_no} 不存在。", code="unknown_case")
    check_can_view(officer, complaint)
    return complaint


# Built once: making a statement with its loader options costs more than running it.
_BY_CASE_NO = (
    select(Complaint)
    .options(joinedload(Complaint.category_rows), joinedload(Complaint.clocks))
    .where(Complaint.case_no == bindparam("case_no"))
)


def list_complaints(officer: Officer, filters: dict, now: datetime) -> tuple[list[Complaint], int]:
    """The complaints of the officer's bureaus that match `filters`, one page, newest first."""
    query = select(Complaint).where(Complaint.bureau_code.in_(officer.bureau_codes))
    if filters.get("bureau"):
        query = query.where(Complaint.bureau_code == filters["bureau"])
    for name in ("state", "grade", "channel", "routing_flag"):
        if filters.get(name):
            query = query.where(getattr(Complaint, name) == filters[name])
    if filters.get("category"):
        query = query.where(
            Complaint.id.in_(
                select(ComplaintCategory.complaint_id).where(ComplaintCategory.category == filters["category"])
            )
        )
    if filters.get("unit"):
        query = query.join(Unit, Complaint.unit_id == Unit.id).where(Unit.code == filters["unit"])
    if filters.get("officer"):
        query = query.where(Complaint.officer_id.in_(select(Officer.id).where(Officer.username == filters["officer"])))
    if "overdue" in filters:
        query = query.where(_overdue(filters["overdue"], now))
    if filters.get("text"):
        query = query.where(_text_matches(officer, filters["text"]))
    if filters.get("received_from"):
        query = query.where(Complaint.received_at >= filters["received_from"])
    if filters.get("received_to"):
        query = query.where(Complaint.received_at < filters["received_to"])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters["page"], filters["per_page"]
    items = db.session.scalars(
        query.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return items, total


def _overdue(overdue: bool, now: datetime):
    """The condition that a case has (or has not) a running clock past due."""
    late = select(Clock.complaint_id).where(Clock.stopped_at.is_(None), Clock.paused_at.is_(None), Clock.due_at < now)
    return Complaint.id.in_(late) if overdue else Complaint.id.not_in(late)


def _text_matches(officer: Officer, text: str):
    """The condition that the case number or the description contains `text`; and the address, for
    intake of the case's bureau. Others see the complainant masked, the description's phone numbers
    too: no finding a case by guessing a phone number or an address."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = [Complaint.case_no.ilike(pattern, escape="\\")]
    description, address = (
        Complaint.description.ilike(pattern, escape="\\"),
        Complaint.address.ilike(pattern, escape="\\"),
    )
    intake = [code for code in officer.bureau_codes if "intake" in officer.roles_for(code)]
    if intake:
        found.append(and_(Complaint.bureau_code.in_(intake), or_(description, address)))
    if not privacy.has_phone(text):
        found.append(description)
    return or_(*found)


# Roles that answer for every open case of their bureau (or unit, when held for one); an officer
# only for their own.
BUREAU_WIDE_ROLES = frozenset({"intake", "dispatcher", "supervisor", "leader", "admin"})


def workbench(officer: Officer, filters: dict, now: datetime, limit: int = 500) -> tuple[list[Complaint], dict]:
    """我的工作台: the open cases the officer answers for, the nearest running deadline first,
    and how many of them are in each state (before the state filter)."""
    norm = get_norm()
    open_states = [name for name, state in norm.states.items() if not state.get("final")]
    wide = [g for g in officer.grants if g.role in BUREAU_WIDE_ROLES]
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
        query = query.where(_overdue(True, now))
    if filters.get("text"):
        query = query.where(_text_matches(officer, filters["text"]))
    query = query.order_by(due.c.due_at.is_(None), due.c.due_at, Complaint.received_at, Complaint.id).limit(limit)
    return db.session.scalars(query).all(), counts


def nearest_clock(complaint: Complaint) -> Clock | None:
    """The running clock that falls due first (workbench rows load only the running ones)."""
    running = [c for c in complaint.clocks if c.stopped_at is None]
    return min(running, key=lambda c: c.due_at, default=None)


def dispatch_queue(officer: Officer) -> list[Complaint]:
    """分级派单: the cases of the officer's bureaus waiting to be assigned, oldest first."""
    bureaus = [code for code in officer.bureau_codes if "dispatcher" in officer.roles_for(code)]
    waiting = get_norm().actions["assign"].sources
    query = select(Complaint).where(Complaint.bureau_code.in_(bureaus), Complaint.state.in_(waiting))
    return db.session.scalars(query.order_by(Complaint.received_at, Complaint.id).limit(500)).all()


def assignable_officers(bureau_codes) -> list[Officer]:
    """The active officers who hold the officer role in these bureaus, with their units."""
    holders = select(RoleGrant.officer_id).where(RoleGrant.role == "officer", RoleGrant.bureau_code.in_(bureau_codes))
    query = select(Officer).options(joinedload(Officer.unit)).where(Officer.id.in_(holders), Officer.is_active)
    return db.session.scalars(query.order_by(Officer.unit_id, Officer.username)).all()


def pending_extensions(officer: Officer) -> list[tuple[Extension, Complaint]]:
    """Extension requests of the officer's bureaus waiting for a decision, oldest first."""
    query = (
        select(Extension, Complaint)
        .join(Complaint, Extension.complaint_id == Complaint.id)
        .join(Clock, Clock.id == Extension.clock_id)
        .where(Complaint.bureau_code.in_(officer.bureau_codes), *_PENDING)
        .order_by(Extension.requested_at)
    )
    return db.session.execute(query).all()


def list_events(complaint: Complaint) -> list[Event]:
    return db.session.scalars(select(Event).where(Event.complaint_id == complaint.id).order_by(Event.seq)).all()


def clock_status(clock: Clock, now: datetime) -> str:
    """running, paused, overdue while it runs; met, late or cancelled once stopped."""
    if clock.stopped_at is not None:
        if clock.stopped_by not in get_norm().clocks[clock.kind].stops_on:
            return "cancelled"
        return "met" if clock.stopped_at <= clock.due_at else "late"
    if clock.paused_at is not None:
        return "paused"
    return "overdue" if now > clock.due_at else "running"


# --- the audit trail --------------------------------------------------------------------------


def _event_record(case_no: str, event: Event) -> dict:
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


def record_event(complaint, actor, action, from_state, data, now) -> Event:
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
    event.hash = chain_hash(event.prev_hash, _event_record(complaint.case_no, event))
    complaint.event_seq, complaint.event_hash = event.seq, event.hash
    db.session.add(event)
    return event


def verify_audit_trails() -> dict[str, list[str]]:
    """Every case whose events were changed, removed or reordered, with what is wrong."""
    broken = {}
    complaints = db.session.execute(select(Complaint.id, Complaint.case_no, Complaint.event_seq, Complaint.event_hash))
    for complaint_id, case_no, head_seq, head_hash in complaints:
        events = db.session.scalars(select(Event).where(Event.complaint_id == complaint_id).order_by(Event.seq))
        links = ((e.seq, _event_record(case_no, e), e.prev_hash, e.hash) for e in events)
        problems = chain_problems(links, head_seq, head_hash)
        if problems:
            broken[case_no] = problems
    return broken


# --- intake -----------------------------------------------------------------------------------


def _next_case_no(bureau_code: str, received_at: datetime) -> str:
    """BJ-20261122-0007: the bureau, the local day received, a counter per bureau and day."""
    day = received_at.astimezone(SHANGHAI).strftime("%Y%m%d")
    statement = _count_case(db.session.get_bind().dialect.name)
    number = db.session.execute(statement, {"bureau_code": bureau_code, "day": day}).scalar_one()
    return f"{bureau_code}-{day}-{number:04d}"


@functools.cache
def _count_case(dialect: str):
    """INSERT ... ON CONFLICT DO UPDATE of the day's counter, built once per database kind."""
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(CaseCounter)
    return (
        statement.values(bureau_code=bindparam("bureau_code"), day=bindparam("day"), last=1)
        .on_conflict_do_update(index_elements=["bureau_code", "day"], set_={"last": CaseCounter.last + 1})
        .returning(CaseCounter.last)
    )


def _find_by_external_id(bureau_code, channel, external_id) -> Complaint | None:
    return db.session.scalar(
        select(Complaint).where(
            Complaint.bureau_code == bureau_code, Complaint.channel == channel, Complaint.external_id == external_id
        )
    )


def _history_hash(value: str) -> str | None:
    if not value:
        return None
    config = current_app.config
    key = config["HISTORY_KEY"] or hmac.new(config["SECRET_KEY"].encode(), b"history", hashlib.sha256).hexdigest()
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def complainant_key(phone: str | None) -> str | None:
    """The keyed hash (HMAC-SHA256) that matches a complainant across bureaus, never the number."""
    return _history_hash(re.sub(r"\D", "", phone or ""))


def place_key(address: str | None) -> str | None:
    """The keyed hash that matches an exact address across bureaus, never the address."""
    compact = re.sub(r"\s", "", address or "")
    return _history_hash("place:" + compact) if compact else None


def register_complaint(actor: Officer | None, data: dict, now: datetime) -> tuple[Complaint, bool]:
    """登记: a new complaint in state `received`, or the existing one when the channel's external
    id was seen before. Returns the complaint and whether it was created. `actor` None: the
    system registers it (a lead from a peer bureau)."""
    norm = get_norm()
    bureau_code = data.get("bureau") or actor.bureau_code
    if actor is not None and "intake" not in actor.roles_for(bureau_code):
        raise Forbidden(f"没有在 {bureau_code} 登记诉求的权限（需要受理员角色）。", code="role_not_allowed")
    external_id = data.get("external_id")
    if external_id:
        existing = _find_by_external_id(bureau_code, data["channel"], external_id)
        if existing is not None:
            return existing, False
    received_at = data.get("received_at") or now
    if received_at > now + CLOCK_SKEW:
        raise Invalid("受理时间不能晚于当前时间。", {"fields": {"received_at": ["受理时间不能晚于当前时间。"]}})

    location = data["location"]
    complainant = data.get("complainant") or {}
    route = route_address(norm.routing, location["address"], bureau_code, location.get("district"))
    matches = _earlier_for(norm, bureau_code, data, route, received_at)
    max_shown = norm.grading["duplicates"]["max_shown"]
    complaint = Complaint(
        bureau_code=bureau_code,
        channel=data["channel"],
        external_id=external_id,
        type=data["type"],
        description=data["description"],
        complainant_name=complainant.get("name"),
        complainant_phone=complainant.get("phone"),
        complainant_key=complainant_key(complainant.get("phone")) or data.get("complainant_key"),
        place_key=data.get("place_key") or place_key(location["address"]),
        peer_bureau=data.get("peer_bureau"),
        peer_case_no=data.get("peer_case_no"),
        callback_consent=complainant.get("callback_consent", False),
        is_sensitive=data.get("sensitive", False),
        address=location["address"],
        district_code=route["district_code"],
        lat=location.get("lat"),
        lng=location.get("lng"),
        routing=route,
        routing_flag=route["flag"],
        state=norm.initial,
        suggestion=suggest_grade(
            norm,
            description=data["description"],
            channel=data["channel"],
            request_type=data["type"],
            repeats=count_repeats(norm, matches, received_at),
            cross_border=route["flag"] == "cross_border",
        )
        | {"duplicates": [{"case_no": m.case_no, "reason": m.reason} for m in matches[:max_shown]]},
        received_at=received_at,
        created_at=now,
        updated_at=now,
        category_rows=[],
        clocks=[],
        event_seq=0,
        event_hash="",
        reopen_count=0,
    )

    def add():
        complaint.case_no = _next_case_no(bureau_code, received_at)
        origin = {"channel": complaint.channel, "external_id": external_id, **data.get("origin", {}),
                  "district": route["district_code"], "routing_flag": route["flag"]}  # fmt: skip
        record_event(complaint, actor, "register", None, origin, now)
        db.session.add(complaint)
        db.session.flush()

    if not external_id:
        add()
        return complaint, True
    try:
        # Numbered inside the savepoint: a registration that loses a race leaves no gap.
        with db.session.begin_nested():
            add()
    except IntegrityError:
        # Another request registered the same external id at the same moment: that one stands.
        existing = _find_by_external_id(bureau_code, data["channel"], external_id)
        if existing is None:
            raise
        return existing, False
    return complaint, True


def _earlier_for(norm, bureau_code: str, data: dict, route: dict, received_at: datetime):
    categories, _ = keyword_categories(norm, data["description"])
    return earlier_complaints(
        norm, bureau_code=bureau_code, address=data["location"]["address"], district_code=route["district_code"],
        description=data["description"], categories=categories, received_at=received_at,
    )  # fmt: skip


def find_duplicates(officer: Officer, subject: Complaint | dict, now: datetime) -> list[tuple[Complaint, str]]:
    """重复诉求: earlier complaints about the same source as `subject` (a complaint, or the fields of
    one being registered), each with the reason it matched, most alike first."""
    norm = get_norm()
    limit = norm.grading["duplicates"]["max_shown"]
    if isinstance(subject, Complaint):
        check_can_view(officer, subject)
        matches = earlier_complaints(
            norm, bureau_code=subject.bureau_code, address=subject.address, district_code=subject.district_code,
            description=subject.description, categories=list(subject.categories) or subject.suggestion["categories"],
            received_at=subject.received_at, exclude_id=subject.id,
        )  # fmt: skip
        return with_complaints(matches[:limit])
    bureau_code = subject.get("bureau") or officer.bureau_code
    if "intake" not in officer.roles_for(bureau_code):  # an exact address in, its cases out: intake's alone
        raise Forbidden(f"没有在 {bureau_code} 登记诉求的权限（需要受理员角色）。", code="role_not_allowed")
    location = subject["location"]
    route = route_address(norm.routing, location["address"], bureau_code, location.get("district"))
    return with_complaints(_earlier_for(norm, bureau_code, subject, route, subject.get("received_at") or now)[:limit])


# --- actions ----------------------------------------------------------------------------------


@dataclass
class Step:
    """One action being taken: who, on what, with which fields, and what goes on the record."""

    norm: Norm
    actor: Officer
    complaint: Complaint
    action: Action
    data: dict
    now: datetime
    record: dict = field(default_factory=dict)


EFFECTS = {}


def effect(name):
    """Registers what an action of workflows/lifecycle.yaml does beyond changing state.
    An action with no registered effect only records its fields; one with several runs them in
    the order they were registered."""

    def register(function):
        EFFECTS.setdefault(name, []).append(function)
        return function

    return register


def _check_officer_may(actor: Officer, complaint: Complaint, action: Action, data: dict):
    norm = get_norm()
    roles = roles_on(actor, complaint)
    if not roles & action.roles:
        raise Forbidden(
            f"“{action.label}”需要以下角色之一：{'、'.join(norm.catalog['roles'][r] for r in sorted(action.roles))}。",
            {"required_roles": sorted(action.roles)},
            code="role_not_allowed",
        )
    if data["version"] != complaint.version:
        raise Conflict(
            "案件已被他人更新，请刷新后重试。",
            {"version": complaint.version, "state": complaint.state},
            code="stale_version",
        )


def perform_action(actor: Officer | None, complaint: Complaint, name: str, data: dict, now: datetime) -> Complaint:
    """Take action `name` on `complaint` with the validated fields `data` (which include the
    `version` the caller saw). Raises and changes nothing when the norm does not allow it.
    `actor` None: EcoFlow itself (the exchange) takes an action of the role `system`."""
    norm = get_norm()
    if actor is not None:
        check_can_view(actor, complaint)
    action = norm.actions.get(name)
    if action is None:
        raise NotFound(f"没有名为 {name} 的操作。", {"actions": list(norm.actions)}, code="unknown_action")
    if actor is None:
        if "system" not in action.roles:
            raise Forbidden(f"“{action.label}”只能由办理人员执行。", code="role_not_allowed")
        data = {**data, "version": complaint.version}
    else:
        _check_officer_may(actor, complaint, action, data)
    if complaint.state not in action.sources:
        allowed = allowed_actions(actor, complaint) if actor else []
        raise Conflict(
            f"案件当前状态为“{norm.states[complaint.state]['label']}”（{complaint.state}），不能“{action.label}”。"
            f"可执行的操作：{', '.join(allowed) or '无'}。",
            {"state": complaint.state, "allowed_actions": allowed},
            code="action_not_allowed",
        )
    if actor is not None and action.assignee_only and complaint.officer_id != actor.id:
        raise Forbidden(f"只有本案承办人可以“{action.label}”。", code="not_assignee")
    step = Step(norm, actor, complaint, action, {k: v for k, v in data.items() if k != "version"}, now)
    step.record.update(step.data)
    from_state = complaint.state
    for function in EFFECTS.get(name, ()):
        function(step)
    if not _machine().events[name].trigger(complaint, data=step.data):
        raise Conflict(f"当前不能“{action.label}”。", {"state": complaint.state}, code="action_not_allowed")

    outcome = action.outcome_to(complaint.state) if action.outcomes else None
    if outcome and outcome.reopens:
        complaint.reopen_count += 1
        _restart_clocks_on_reopen(step)
    _stop_clocks(complaint, name, now)
    _start_clocks_on(step)
    if outcome and norm.states[complaint.state].get("final"):
        _stop_clocks(complaint, name, now, every=True)
    complaint.closed_at = now if complaint.state == "closed" else None
    complaint.updated_at = now
    record_event(complaint, actor, name, from_state, step.record, now)
    db.session.flush()
    return complaint


# --- clocks -----------------------------------------------------------------------------------


def _period(clock: Clock) -> Period:
    return Period(clock.period_amount, clock.period_unit)


def _after_pauses(norm: Norm, clock: Clock, moment: datetime) -> datetime:
    """`moment` moved on by the time the clock's pauses took out of it, counted as the clock counts:
    on a working-day clock the working time the pauses covered, added in working time (a pause from
    Friday 09:00 to Monday 09:00 gives back one working day, one over a weekend nothing); on any
    other clock the paused time itself. `paused_seconds` (and each pause's `counted_seconds`) is
    calendar time, what the pause cap limits; a working-day clock reads its pauses for the rest."""
    if not clock.paused_seconds:
        return moment
    if not _period(clock).is_working_days:
        return moment + timedelta(seconds=clock.paused_seconds)
    pauses = db.session.execute(
        select(Pause.paused_at, Pause.counted_seconds).where(Pause.clock_id == clock.id, Pause.counted_seconds > 0)
    )
    calendar = norm.calendar
    worked = sum(calendar.working_seconds(at, at + timedelta(seconds=counted)) for at, counted in pauses)
    return calendar.add_working_seconds(moment, worked)


def _compute_due(norm: Norm, clock: Clock) -> datetime:
    """Due time from the start, the period, the paused time and the approved extensions."""
    due = _after_pauses(norm, clock, norm.calendar.add(clock.started_at, _period(clock)))
    if clock.id is None:  # a clock being started has no extensions yet
        return due
    extensions = db.session.scalars(
        select(Extension)
        .where(Extension.clock_id == clock.id, Extension.is_approved.is_(True))
        .order_by(Extension.ordinal)
    )
    for extension in extensions:
        due = norm.calendar.add(due, Period(extension.days, _period(clock).day_unit))
    return due


def running_since(clock: Clock) -> datetime:
    """The clock's start moved on by its paused time, as its due time is: the ladder measures only
    running time."""
    return _after_pauses(get_norm(), clock, clock.started_at)


def _retime(norm: Norm, clock: Clock, grade: str | None):
    """Due time, and the ladder's next rung with it, from the clock's start, period, pauses and
    extensions. Only a running, unpaused clock has a next rung for the sweep to find; a paused one
    has the moment its pause allowance runs out, when the sweep resumes it."""
    clock.due_at = _compute_due(norm, clock)
    if clock.stopped_at is not None:
        clock.next_rung = clock.next_rung_at = None
    elif clock.paused_at is not None:
        clock.next_rung, clock.next_rung_at = None, clock.paused_at + _pause_allowance(norm, clock)
    else:
        clock.next_rung, clock.next_rung_at = norm.ladder.next_rung(
            clock.rung, grade, running_since(clock), clock.due_at
        )


def retime_working_day_clocks(now: datetime, batch: int = 500) -> list[tuple[str, str, datetime, datetime]]:
    """After the calendar changed (newly announced holidays in workflows/calendar.yaml): every running
    working-day clock timed again, each deadline that moves on its case's record. Returns (case number,
    clock, old due time, new due time) of those that moved. Flushes; the caller commits."""
    norm, moved, last_id = get_norm(), [], 0
    while True:
        clocks = db.session.scalars(
            select(Clock)
            .options(joinedload(Clock.complaint))
            .where(Clock.id > last_id, Clock.stopped_at.is_(None), Clock.period_unit == "working_days")
            .order_by(Clock.id)
            .limit(batch)
        ).all()
        if not clocks:
            return moved
        for clock in clocks:
            before, complaint = clock.due_at, clock.complaint
            _retime(norm, clock, complaint.grade)
            if clock.due_at != before:
                complaint.updated_at = now
                record = {"clock": clock.kind, "from": before.isoformat(), "due_at": clock.due_at.isoformat()}
                record_event(complaint, None, "retime", complaint.state, record, now)
                moved.append((complaint.case_no, clock.kind, before, clock.due_at))
        db.session.flush()
        last_id = clocks[-1].id


def _start_clock(complaint: Complaint, kind: str, period: Period, started_at: datetime, norm: Norm) -> Clock:
    clock = Clock(
        kind=kind, period_amount=period.amount, period_unit=period.unit, started_at=started_at, paused_seconds=0
    )
    complaint.clocks.append(clock)
    _retime(norm, clock, complaint.grade)
    return clock


def start_clock(complaint: Complaint, kind: str, period: Period, started_at: datetime) -> Clock:
    """Start a clock of `kind` on the case from `started_at` (the ladder runs on it at once)."""
    return _start_clock(complaint, kind, period, started_at, get_norm())


def _set_grade_clocks(step: Step):
    """Start the grade's clocks from the time received; a new grade re-times the running ones.
    A clock an earlier grade cancelled starts again when a grade brings it back; one that ended
    by its own event (met or late) does not."""
    complaint, norm = step.complaint, step.norm
    grade = norm.grades[complaint.grade]
    for kind, period in grade.clocks.items():
        if norm.clocks[kind].starts_on:
            continue  # started by its own action
        clock = complaint.running_clock(kind)
        if clock is None:
            if not any(c.kind == kind and c.stopped_by != "grade" for c in complaint.clocks):
                _start_clock(complaint, kind, period, complaint.received_at, norm)
        else:
            # Re-graded: the new period, and the new grade's ladder (urgent whistles at once).
            clock.period_amount, clock.period_unit = period.amount, period.unit
            _retime(norm, clock, complaint.grade)
    for clock in complaint.clocks:
        if clock.stopped_at is None and clock.kind not in grade.clocks:
            _stop(clock, "grade", step.now)


def _start_clocks_on(step: Step):
    """Clocks started by this action (签收 by 派单) run from now; taking it again restarts them."""
    grade = step.norm.grades.get(step.complaint.grade)
    for kind, period in grade.clocks.items() if grade else ():
        if step.action.name in step.norm.clocks[kind].starts_on:
            running = step.complaint.running_clock(kind)
            if running is not None:
                _stop(running, step.action.name, step.now)
            _start_clock(step.complaint, kind, period, step.now, step.norm)


def _restart_clocks_on_reopen(step: Step):
    """重办 starts a fresh reply clock (of the case's grade) from now."""
    grade = step.norm.grades[step.complaint.grade]
    for kind, period in grade.clocks.items():
        if step.norm.clocks[kind].restarts_on_reopen and step.complaint.running_clock(kind) is None:
            _start_clock(step.complaint, kind, period, step.now, step.norm)


def _stop(clock: Clock, action: str, now: datetime):
    if clock.paused_at is not None:
        _end_pause(clock, None, now, get_norm())
    clock.stopped_at, clock.stopped_by = now, action
    clock.next_rung = clock.next_rung_at = None


def _stop_clocks(complaint: Complaint, action: str, now: datetime, every: bool = False):
    """Stop the running clocks whose event `action` is (every running clock when the case ends)."""
    kinds = get_norm().clocks
    for clock in complaint.clocks:
        if clock.stopped_at is None and (every or action in kinds[clock.kind].stops_on):
            _stop(clock, action, now)


def _pause_allowance(norm: Norm, clock: Clock) -> timedelta:
    """How much more paused time the clock may have: the cap less what it has used."""
    cap = norm.calendar.add(clock.paused_at, norm.pause["max_total"]) - clock.paused_at
    return max(timedelta(0), cap - timedelta(seconds=clock.paused_seconds))


def _end_pause(clock: Clock, actor: Officer | None, now: datetime, norm: Norm) -> int:
    """Ends the clock's pause; the paused time counts up to the cap. Returns the seconds counted
    (calendar time; on a working-day clock the due time moves by the working time in them)."""
    pause = db.session.scalar(select(Pause).where(Pause.clock_id == clock.id, Pause.resumed_at.is_(None)))
    allowance = int(_pause_allowance(norm, clock).total_seconds())
    counted = max(0, min(int((now - clock.paused_at).total_seconds()), allowance))
    clock.paused_seconds += counted
    clock.paused_at = None
    pause.resumed_at, pause.resumed_by_id, pause.counted_seconds = now, actor.id if actor else None, counted
    _retime(norm, clock, clock.complaint.grade)  # reads this pause too, on a working-day clock
    return counted


def end_pause_at_cap(clock: Clock, now: datetime):
    """The pause allowance is used up: the clock runs again by itself, on the record."""
    counted = _end_pause(clock, None, now, get_norm())
    complaint = clock.complaint
    complaint.updated_at = now
    data = {"clock": clock.kind, "counted_seconds": counted, "by": "pause cap"}
    record_event(complaint, None, "resume", complaint.state, data, now)


# --- what each action does --------------------------------------------------------------------


def _field_error(name: str, message: str) -> Invalid:
    return Invalid(message, {"fields": {name: [message]}})


@effect("merge")
def _merge(step: Step):
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
    complaint, data, norm = step.complaint, step.data, step.norm
    complaint.grade = data["grade"]
    complaint.categories = sorted(set(data["categories"]))
    complaint.is_on_ledger = norm.grades[complaint.grade].ledger
    suggested = complaint.suggestion
    if data["grade"] != suggested["grade"] or sorted(set(data["categories"])) != sorted(suggested["categories"]):
        step.record["overrides_suggestion"] = {"grade": suggested["grade"], "categories": suggested["categories"]}
    _set_grade_clocks(step)


@effect("grade")
def _grade(step: Step):
    _apply_grade(step)


_UNIT = select(Unit).where(Unit.bureau_code == bindparam("bureau_code"), Unit.code == bindparam("code"))
_OFFICER_WITH_ROLES = (
    select(Officer).options(joinedload(Officer.grants)).where(Officer.username == bindparam("username"))
)


@effect("assign")
def _assign(step: Step):
    complaint, data = step.complaint, step.data
    unit = db.session.scalar(_UNIT, {"bureau_code": complaint.bureau_code, "code": data["unit"]})
    if unit is None:
        raise _field_error("unit", f"本单位没有代码为 {data['unit']} 的承办单位。")
    officer = db.session.scalars(_OFFICER_WITH_ROLES, {"username": data["officer"]}).unique().one_or_none()
    if officer is None or not officer.is_active or "officer" not in officer.roles_for(complaint.bureau_code, unit.id):
        raise _field_error("officer", f"{data['officer']} 不是{unit.name}的承办人。")
    if "grade" in data or complaint.grade is None:
        missing = {f: ["派单时一并分级，需要填写此项。"] for f in ("grade", "categories") if f not in data}
        if missing:
            raise Invalid("未分级的案件派单时须同时填写分级和类别。", {"fields": missing})
        _apply_grade(step)
    elif "categories" in data:
        complaint.categories = sorted(set(data["categories"]))
    complaint.unit_id, complaint.officer_id = unit.id, officer.id
    complaint.unit, complaint.officer = unit, officer


@effect("return")
def _return(step: Step):
    step.record["from_unit"] = step.complaint.unit.code
    step.complaint.unit_id = step.complaint.officer_id = None
    step.complaint.unit = step.complaint.officer = None


def _extension_clock(step: Step) -> Clock:
    clock = step.complaint.running_clock(step.norm.extension["clock"])
    if clock is None:
        raise Conflict("案件没有正在计时的答复期限，无需延期。", code="no_running_clock")
    return clock


# A request is pending while undecided and its clock runs. One still undecided when its clock stops
# (the reply was given, the case ended) has lapsed: it can no longer be decided, and it neither
# blocks a request for the next clock nor ever re-times the stopped one.
_PENDING = (Extension.is_approved.is_(None), Clock.stopped_at.is_(None))


def _pending_extension(complaint: Complaint) -> Extension | None:
    return db.session.scalar(
        select(Extension)
        .join(Clock, Clock.id == Extension.clock_id)
        .where(Extension.complaint_id == complaint.id, *_PENDING)
    )


def _refuse_lapsed(complaint: Complaint):
    """No request is pending: say so, and why, when the last one lapsed with its clock."""
    last, clock = db.session.execute(
        select(Extension, Clock)
        .join(Clock, Clock.id == Extension.clock_id)
        .where(Extension.complaint_id == complaint.id)
        .order_by(Extension.ordinal.desc())
        .limit(1)
    ).first() or (None, None)
    if last is not None and last.is_approved is None:
        stopped = clock.stopped_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        raise Conflict(
            f"延期申请未及审批，其答复期限已于 {stopped} 停止，申请已失效；如需延期，请对当前答复期限重新申请。",
            {"ordinal": last.ordinal, "stopped_at": clock.stopped_at.isoformat()},
            code="extension_lapsed",
        )
    raise Conflict("没有等待审批的延期申请。", code="no_pending_extension")


def _extension_nth(clock: Clock) -> int:
    """Which extension of its clock a request would be: one more than those approved on that clock.
    It says what the request may add (the first at most the original period) and who approves it;
    refused requests and those of earlier clocks (before a reopening) do not count."""
    approved = select(func.count()).where(Extension.clock_id == clock.id, Extension.is_approved.is_(True))
    return 1 + db.session.scalar(approved)


@effect("request_extension")
def _request_extension(step: Step):
    """申请延期. On the record, `ordinal` numbers the case's requests (refused ones too), `nth`
    says which extension of the clock it is."""
    clock = _extension_clock(step)
    if _pending_extension(step.complaint) is not None:
        raise Conflict("已有一项延期申请等待审批。", code="extension_pending")
    ordinal = 1 + db.session.scalar(select(func.count()).where(Extension.complaint_id == step.complaint.id))
    nth = _extension_nth(clock)
    limit = _period(clock).whole_days
    if nth == 1 and step.data["days"] > limit:
        raise _field_error("days", f"首次延期最多 {limit} 天（不超过原办理期限）。")
    db.session.add(Extension(
        complaint_id=step.complaint.id, clock_id=clock.id, ordinal=ordinal, days=step.data["days"],
        reason=step.data["reason"], requested_by_id=step.actor.id, requested_at=step.now,
    ))  # fmt: skip
    step.record.update(ordinal=ordinal, nth=nth)


@effect("approve_extension")
def _approve_extension(step: Step):
    extension = _pending_extension(step.complaint)
    if extension is None:
        _refuse_lapsed(step.complaint)
    clock = db.session.get(Clock, extension.clock_id)
    nth = _extension_nth(clock)
    approvers = step.norm.extension["approvers"]
    needed = approvers[min(nth, len(approvers)) - 1]
    if needed not in roles_on(step.actor, step.complaint):
        label = step.norm.catalog["roles"][needed]
        raise Forbidden(f"第{nth}次延期须由{label}审批。", {"required_roles": [needed]}, code="role_not_allowed")
    extension.is_approved = step.data["approved"]
    extension.decided_by_id, extension.decided_at = step.actor.id, step.now
    extension.note = step.data.get("note")
    step.record.update(approved=extension.is_approved, ordinal=extension.ordinal, nth=nth, days=extension.days)
    if extension.is_approved:
        db.session.flush()
        _retime(step.norm, clock, step.complaint.grade)
        step.record["due_at"] = clock.due_at.isoformat()


def _pause_clock(step: Step) -> Clock:
    clock = step.complaint.running_clock(step.norm.pause["clock"])
    if clock is None:
        raise Conflict("案件没有正在计时的答复期限。", code="no_running_clock")
    return clock


@effect("pause")
def _pause(step: Step):
    clock = _pause_clock(step)
    if clock.paused_at is not None:
        raise Conflict("答复期限已经挂起。", code="already_paused")
    clock.paused_at = step.now
    _retime(step.norm, clock, step.complaint.grade)
    db.session.add(Pause(
        complaint_id=step.complaint.id, clock_id=clock.id, reason=step.data["reason"],
        paused_by_id=step.actor.id, paused_at=step.now,
    ))  # fmt: skip


@effect("resume")
def _resume(step: Step):
    clock = _pause_clock(step)
    if clock.paused_at is None:
        raise Conflict("答复期限没有挂起。", code="not_paused")
    step.record["counted_seconds"] = _end_pause(clock, step.actor, step.now, step.norm)
    step.record["due_at"] = clock.due_at.isoformat()
