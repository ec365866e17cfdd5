"""The clocks of a case (NORM.md, "Grades and their clocks"): starting, stopping, pausing, extending
and re-timing them, and the ladder's next rung with each due time. Flushes; the caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ecoflow.complaints.models import Clock, Complaint, Extension, Pause
from ecoflow.errors import ApiError, Conflict, Forbidden, Invalid
from ecoflow.extensions import db
from ecoflow.norm import Norm, Period
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer
from ecoflow.timeutil import SHANGHAI

from .step import Step
from .trail import record_event


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
    if clock.id is None or not clock.approved_extensions:
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
        kind=kind, period_amount=period.amount, period_unit=period.unit, started_at=started_at, paused_seconds=0,
        is_extension_pending=False, approved_extensions=0,
    )  # fmt: skip
    complaint.clocks.append(clock)
    _retime(norm, clock, complaint.grade)
    return clock


def start_clock(complaint: Complaint, kind: str, period: Period, started_at: datetime) -> Clock:
    """Start a clock of `kind` on the case from `started_at` (the ladder runs on it at once)."""
    return _start_clock(complaint, kind, period, started_at, get_norm())


def is_replaced(complaint: Complaint, kind: str) -> bool:
    """A grade's clock that a formal petition does not run: its own clock takes the place
    (workflows/petition.yaml, `replaces`)."""
    return complaint.is_petition and kind in get_norm().petition["replaces"]


def set_grade_clocks(step: Step):
    """Start the grade's clocks from the time received; a new grade re-times the running ones.
    A clock an earlier grade cancelled starts again when a grade brings it back; one that ended
    by its own event (met or late) does not."""
    complaint, norm = step.complaint, step.norm
    grade = norm.grades[complaint.grade]
    for kind, period in grade.clocks.items():
        if norm.clocks[kind].starts_on or is_replaced(complaint, kind):
            continue  # started by its own action, or a petition's clock runs instead
        clock = complaint.running_clock(kind)
        if clock is None:
            if not any(c.kind == kind and c.stopped_by != "grade" for c in complaint.clocks):
                _start_clock(complaint, kind, period, complaint.received_at, norm)
        else:
            # Re-graded: the new period, and the new grade's ladder (urgent whistles at once).
            clock.period_amount, clock.period_unit = period.amount, period.unit
            _retime(norm, clock, complaint.grade)
    for clock in complaint.clocks:
        # Only a grade's clocks end with a new grade: not a petition's, a lead's or an instruction's.
        of_grades = any(clock.kind in g.clocks for g in norm.grades.values())
        if clock.stopped_at is None and clock.kind not in grade.clocks and of_grades:
            _stop(clock, "grade", step.now)


def regrade_clocks(step: Step):
    """改级: the grade's clocks as 分级 sets them, and those started by their own action (签收) re-timed
    by the new grade's period too, from when they started."""
    set_grade_clocks(step)
    grade = step.norm.grades[step.complaint.grade]
    for clock in step.complaint.clocks:
        if clock.stopped_at is None and step.norm.clocks[clock.kind].starts_on and clock.kind in grade.clocks:
            period = grade.clocks[clock.kind]
            clock.period_amount, clock.period_unit = period.amount, period.unit
            _retime(step.norm, clock, step.complaint.grade)


def start_clocks_on(step: Step):
    """Clocks started by this action (签收 by 派单) run from now; taking it again restarts them."""
    grade = step.norm.grades.get(step.complaint.grade)
    for kind, period in grade.clocks.items() if grade else ():
        if step.action.name in step.norm.clocks[kind].starts_on:
            running = step.complaint.running_clock(kind)
            if running is not None:
                _stop(running, step.action.name, step.now)
            _start_clock(step.complaint, kind, period, step.now, step.norm)


def restart_clocks_on_reopen(step: Step):
    """重办 starts a fresh reply clock (of the case's grade) from now."""
    grade = step.norm.grades[step.complaint.grade]
    for kind, period in grade.clocks.items():
        if (
            step.norm.clocks[kind].restarts_on_reopen
            and step.complaint.running_clock(kind) is None
            and not is_replaced(step.complaint, kind)
        ):
            _start_clock(step.complaint, kind, period, step.now, step.norm)


def _stop(clock: Clock, action: str, now: datetime):
    if clock.paused_at is not None:
        _end_pause(clock, None, now, get_norm())
    clock.stopped_at, clock.stopped_by = now, action
    clock.next_rung = clock.next_rung_at = None


def stop_clocks(complaint: Complaint, action: str, now: datetime, every: bool = False):
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
    if pause is None:  # someone else ended it first
        raise Conflict("案件已被他人更新，请刷新后重试。", code="stale_version")
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


def clock_status(clock: Clock, now: datetime) -> str:
    """running, paused, overdue while it runs; met, late or cancelled once stopped."""
    if clock.stopped_at is not None:
        if clock.stopped_by not in get_norm().clocks[clock.kind].stops_on:
            return "cancelled"
        return "met" if clock.stopped_at <= clock.due_at else "late"
    if clock.paused_at is not None:
        return "paused"
    return "overdue" if now > clock.due_at else "running"


def nearest_clock(complaint: Complaint) -> Clock | None:
    """The running clock that falls due first (workbench rows load only the running ones)."""
    running = [c for c in complaint.clocks if c.stopped_at is None]
    return min(running, key=lambda c: c.due_at, default=None)


# --- extensions and pauses (延期, 挂起) --------------------------------------------------------
#
# The *_refusal functions say why an action cannot be taken on the case as it stands, before any
# field is read: access offers an action only when they say nothing, and the engine refuses with
# what they say. The effects below run only after they said nothing.

# A request is pending while undecided and its clock runs. One still undecided when its clock stops
# (the reply was given, the case ended) has lapsed: it can no longer be decided, and it neither
# blocks a request for the next clock nor ever re-times the stopped one. The clock says whether a
# request waits on it (is_extension_pending) and how many it was granted, so that the offer of an
# action needs no query.
PENDING = (Extension.is_approved.is_(None), Clock.stopped_at.is_(None))


def extension_kind(complaint: Complaint) -> str:
    """The clock a 延期 moves: a petition's closing clock (petition.yaml), else the grade's (grades.yaml)."""
    norm = get_norm()
    return norm.petition["extension"]["clock"] if complaint.is_petition else norm.extension["clock"]


def _pending_clock(complaint: Complaint) -> Clock | None:
    clock = complaint.running_clock(extension_kind(complaint))
    return clock if clock is not None and clock.is_extension_pending else None


def pending_extension(complaint: Complaint) -> Extension | None:
    """The case's extension request waiting for a decision, if any."""
    clock = _pending_clock(complaint)
    if clock is None:
        return None
    return db.session.scalar(select(Extension).where(Extension.clock_id == clock.id, Extension.is_approved.is_(None)))


def extension_nth(clock: Clock) -> int:
    """Which extension of its clock a request would be: one more than those approved on that clock.
    It says what the request may add (the first at most the original period) and who approves it;
    refused requests and those of earlier clocks (before a reopening) do not count."""
    return clock.approved_extensions + 1


def _approver(norm: Norm, nth: int, complaint: Complaint) -> str:
    if complaint.is_petition:
        return norm.petition["extension"]["approver"]
    approvers = norm.extension["approvers"]
    return approvers[min(nth, len(approvers)) - 1]


def request_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """申请延期 needs a running reply clock (a petition's closing clock) and no request already waiting;
    a petition's closing clock is extended at most as often as petition.yaml allows (once)."""
    norm = get_norm()
    clock = complaint.running_clock(extension_kind(complaint))
    if clock is None:
        return Conflict("案件没有正在计时的答复期限，无需延期。", code="no_running_clock")
    if clock.is_extension_pending:
        return Conflict("已有一项延期申请等待审批。", code="extension_pending")
    rules = norm.petition["extension"]
    if complaint.is_petition and clock.approved_extensions >= rules["max_count"]:
        return Conflict(
            f"信访事项的办理期限只能延长{rules['max_count']}次（《信访工作条例》第三十五条），本案已经延期，"
            f"须在{clock.due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}前办结并书面答复。",
            {"approved_extensions": clock.approved_extensions, "due_at": clock.due_at.isoformat()},
            code="extension_limit",
        )
    return None


def approval_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """审批延期 needs a pending request, and the role that approves this one (a second needs a leader,
    unless a hotline centre decides)."""
    clock = _pending_clock(complaint)
    if clock is None:
        return _no_pending()
    norm = get_norm()
    nth = extension_nth(clock)
    needed = _approver(norm, nth, complaint)
    # A centre that decides extensions decides every one (access.py says which cases are its), but
    # never a petition's: the bureau's leader approves that.
    if needed not in roles and (complaint.is_petition or norm.access["centre_account"] not in roles):
        label = norm.catalog["roles"][needed]
        return Forbidden(f"第{nth}次延期须由{label}审批。", {"required_roles": [needed]}, code="role_not_allowed")
    return None


def _no_pending() -> Conflict:
    return Conflict("没有等待审批的延期申请。", code="no_pending_extension")


def why_no_pending(complaint: Complaint) -> Conflict:
    """No request is pending: say so, and why, when the last one lapsed with its clock (a query the
    offer of actions does without: it only needs to know there is none)."""
    last, clock = db.session.execute(
        select(Extension, Clock)
        .join(Clock, Clock.id == Extension.clock_id)
        .where(Extension.complaint_id == complaint.id)
        .order_by(Extension.ordinal.desc())
        .limit(1)
    ).first() or (None, None)
    if last is not None and last.is_approved is None:
        stopped = clock.stopped_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        return Conflict(
            f"延期申请未及审批，其答复期限已于 {stopped} 停止，申请已失效；如需延期，请对当前答复期限重新申请。",
            {"ordinal": last.ordinal, "stopped_at": clock.stopped_at.isoformat()},
            code="extension_lapsed",
        )
    return _no_pending()


def pause_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """挂起 needs a running reply clock that is not paused already."""
    clock = complaint.running_clock(get_norm().pause["clock"])
    if clock is None:
        return Conflict("案件没有正在计时的答复期限。", code="no_running_clock")
    if clock.paused_at is not None:
        return Conflict("答复期限已经挂起。", code="already_paused")
    return None


def resume_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """恢复 needs a paused reply clock."""
    clock = complaint.running_clock(get_norm().pause["clock"])
    if clock is None:
        return Conflict("案件没有正在计时的答复期限。", code="no_running_clock")
    if clock.paused_at is None:
        return Conflict("答复期限没有挂起。", code="not_paused")
    return None


def request_extension(step: Step):
    """申请延期. On the record, `ordinal` numbers the case's requests (refused ones too), `nth`
    says which extension of the clock it is."""
    clock = step.complaint.running_clock(extension_kind(step.complaint))
    ordinal = 1 + db.session.scalar(select(func.count()).where(Extension.complaint_id == step.complaint.id))
    nth = extension_nth(clock)
    limit = _period(clock).whole_days
    if step.complaint.is_petition:
        limit = step.norm.petition["extension"]["max_days"]
        if step.data["days"] > limit:
            message = f"信访事项延期最多 {limit} 日（《信访工作条例》第三十五条）。"
            raise Invalid(message, {"fields": {"days": [message]}})
    if nth == 1 and step.data["days"] > limit:
        message = f"首次延期最多 {limit} 天（不超过原办理期限）。"
        raise Invalid(message, {"fields": {"days": [message]}})
    db.session.add(Extension(
        complaint_id=step.complaint.id, clock_id=clock.id, ordinal=ordinal, days=step.data["days"],
        reason=step.data["reason"], requested_by_id=step.actor.id, requested_at=step.now,
    ))  # fmt: skip
    clock.is_extension_pending = True
    step.record.update(ordinal=ordinal, nth=nth)


def approve_extension(step: Step):
    """审批延期: the decision on the pending request; an approval moves the due time."""
    extension = pending_extension(step.complaint)
    clock = _pending_clock(step.complaint)
    nth = extension_nth(clock)
    extension.is_approved = step.data["approved"]
    clock.is_extension_pending = False
    if extension.is_approved:
        clock.approved_extensions += 1
    extension.decided_by_id, extension.decided_at = step.actor.id, step.now
    extension.note = step.data.get("note")
    step.record.update(approved=extension.is_approved, ordinal=extension.ordinal, nth=nth, days=extension.days)
    if extension.is_approved:
        db.session.flush()
        _retime(step.norm, clock, step.complaint.grade)
        step.record["due_at"] = clock.due_at.isoformat()


def pause(step: Step):
    """挂起: the reply clock stops counting, on the record, up to the pause cap."""
    clock = step.complaint.running_clock(step.norm.pause["clock"])
    clock.paused_at = step.now
    _retime(step.norm, clock, step.complaint.grade)
    db.session.add(Pause(
        complaint_id=step.complaint.id, clock_id=clock.id, reason=step.data["reason"],
        paused_by_id=step.actor.id, paused_at=step.now,
    ))  # fmt: skip


def resume(step: Step):
    """恢复: the reply clock counts again; the paused time moves its due time."""
    clock = step.complaint.running_clock(step.norm.pause["clock"])
    step.record["counted_seconds"] = _end_pause(clock, step.actor, step.now, step.norm)
    step.record["due_at"] = clock.due_at.isoformat()
