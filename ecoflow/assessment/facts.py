"""Keeping the assessment facts, and their monthly counts, in step with the cases.

Whenever a clock, an event or a whistle party is written, its fact is written in the same flush (and
so the same transaction) by a session listener; when a case moves to another unit or officer or
changes categories, its facts move with it. Each change also moves the monthly counts: the old fact's
contribution out, the new one's in. An action that touches a counted item pays a few indexed
statements (read the old facts it changes, write the facts, add to the counts), nothing more."""

from __future__ import annotations

import functools
from collections import defaultdict
from itertools import chain

from sqlalchemy import bindparam, case, delete, func, insert, inspect, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from ecoflow.complaints.models import Clock, Complaint, Event
from ecoflow.complaints.privacy import address_district
from ecoflow.escalation.models import Whistle, WhistleParty
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.timeutil import SHANGHAI

from .models import ROLLUP_KEY, Fact, MonthlyCount
from .rules import get_rules

# A summoned party is counted for its own bureau and unit, not for the case's.
PARTY_MEASURE = "whistle"
CLOCK_ATTRS = ("due_at", "stopped_at", "stopped_by", "paused_at")
PARTY_ATTRS = ("reported_at", "report_by", "reported_by_id")
DIMENSION_ATTRS = ("unit_id", "officer_id", "district_code", "address", "bureau_code", "category_rows")
# What a case's facts carry of it, and move with it.
MOVING = ("bureau_code", "unit_id", "officer_id", "district", "channel", "categories")


def month_of(moment) -> int | None:
    """The month (YYYYMM, Asia/Shanghai) a moment falls in."""
    if moment is None:
        return None
    local = moment.astimezone(SHANGHAI)
    return local.year * 100 + local.month


def district_of(complaint: Complaint) -> str | None:
    """The district a case counts in: its division code (address routing sets it), else the district
    its address names (an address routing could not read, or a case from before routing).
    Cut to the column's 40 characters: an odd address must never stop an action."""
    district = complaint.district_code or address_district(complaint.address)
    return district[:40] if district else None


def district_name(complaint: Complaint) -> str | None:
    """The district as people say it: the name workflows/routing.yaml gives its division code."""
    districts = get_norm().routing.districts
    code = complaint.district_code
    return districts[code].name if code in districts else district_of(complaint)


def category_bits(categories) -> int:
    """The categories as bits, in the order of the norm's catalog."""
    bits = _bits(tuple(get_norm().catalog["categories"]))
    return sum(bits.get(c, 0) for c in set(categories))


@functools.cache
def _bits(order: tuple[str, ...]) -> dict[str, int]:
    return {category: 1 << i for i, category in enumerate(order)}


def dimensions(complaint: Complaint) -> dict:
    return {
        "complaint_id": complaint.id,
        "bureau_code": complaint.bureau_code,
        "unit_id": complaint.unit_id,
        "officer_id": complaint.officer_id,
        "district": district_of(complaint),
        "channel": complaint.channel,
        "categories": category_bits(complaint.categories),
    }


def _fact(measure, source_id, complaint, counted_at, is_ok=None, level=None, seconds=None, **dims) -> dict:
    return {
        "measure": measure, "source_id": source_id, "counted_at": counted_at, "month": month_of(counted_at),
        "is_ok": is_ok, "level": level, "seconds": seconds, **dimensions(complaint), **dims,
    }  # fmt: skip


def _deadline(done_at, due_at):
    """(when it counts, outcome) of something due at `due_at`: met when done by then, else not met
    from the due time on (None: not done yet, which counts as not met once the due time passes)."""
    if done_at is not None and done_at <= due_at:
        return done_at, True
    return due_at, (False if done_at is not None else None)


def clock_fact(clock: Clock, complaint: Complaint, norm, rules) -> dict | None:
    """响应 (first contact), 答复 (reply), 线索签收 (a lead's acknowledgement) or another watched clock,
    as the clock's status says."""
    measure = rules.clock_measures.get(clock.kind)
    if measure is None or (measure == "response" and complaint.channel in rules.complainant_measures_skip_channels):
        return None
    seconds = None
    if clock.stopped_at is not None:
        if clock.stopped_by in norm.clocks[clock.kind].stops_on:
            counted_at, is_ok = _deadline(clock.stopped_at, clock.due_at)
            if measure == "lead":  # 线索签收: how long the lead waited to be acknowledged
                seconds = int((clock.stopped_at - clock.started_at).total_seconds())
        elif clock.stopped_at > clock.due_at:  # ran out before the case ended otherwise
            counted_at, is_ok = clock.due_at, False
        else:  # cancelled in time (re-graded, case ended): not counted
            counted_at, is_ok = None, None
    elif clock.paused_at is not None:  # 挂起: not judged while it waits
        counted_at, is_ok = None, None
    else:
        counted_at, is_ok = clock.due_at, None
    return _fact(measure, clock.id, complaint, counted_at, is_ok, seconds=seconds)


def event_facts(event_: Event, complaint: Complaint, norm, rules) -> list[dict]:
    """回访 (follow-up), 答复 (an answer), 重办 (a reopening)."""
    action, at, facts = event_.action, event_.occurred_at, []
    skip = complaint.channel in rules.complainant_measures_skip_channels
    if action == rules.follow_up_action and not skip:
        data = event_.data
        facts.append(_fact("follow_up", event_.id, complaint, at, bool(data.get("resolved")), data.get("satisfaction")))
    if action in rules.answer_actions:
        facts.append(_fact("answer", event_.id, complaint, at, True))
    spec = norm.actions.get(action)
    outcome = spec.outcome_to(event_.to_state) if spec and event_.from_state != event_.to_state else None
    if outcome is not None and outcome.reopens:
        facts.append(_fact("reopen", event_.id, complaint, at, True))
    return facts


def party_fact(party: WhistleParty, complaint: Complaint) -> dict:
    """报到: a party summoned by a whistle, counted for its own bureau and unit."""
    counted_at, is_ok = _deadline(party.reported_at, party.report_by)
    seconds = int((party.reported_at - party.summoned_at).total_seconds()) if party.reported_at else None
    return _fact(PARTY_MEASURE, party.id, complaint, counted_at, is_ok, seconds=seconds,
                 bureau_code=party.bureau_code, unit_id=party.unit_id, officer_id=party.reported_by_id)  # fmt: skip


def _changed(obj, names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@functools.cache
def _upsert(dialect: str, model, key: tuple[str, ...], columns: tuple[str, ...], add: bool):
    """INSERT ... ON CONFLICT (key) DO UPDATE: set `columns` (or add them to what is there), built once."""
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(model)
    table = model.__table__.c
    new = {c: (table[c] + statement.excluded[c]) if add else statement.excluded[c] for c in columns}
    return statement.on_conflict_do_update(index_elements=list(key), set_=new)


def write_facts(connection, rows: list[dict]):
    """Insert the facts, or update them where their item is counted already."""
    if rows:
        rows = sorted(rows, key=lambda row: (row["measure"], row["source_id"]))  # one lock order for all
        columns = tuple(c for c in rows[0] if c not in ("measure", "source_id"))
        connection.execute(_upsert(connection.dialect.name, Fact, ("measure", "source_id"), columns, False), rows)


def _rollup_key(fact) -> tuple | None:
    if fact["month"] is None:
        return None
    return (fact["month"], fact["bureau_code"], fact["unit_id"] or 0, fact["district"] or "", fact["channel"],
            fact["categories"] or 0, fact["measure"], fact["level"] or "")  # fmt: skip


def count_changes(connection, old: list, new: list):
    """Move the monthly counts from the `old` facts to the `new` ones: −old, +new."""
    deltas = defaultdict(lambda: [0, 0, 0, 0])
    for facts, sign in ((old, -1), (new, 1)):
        for fact in facts:
            key = _rollup_key(fact)
            if key is None:
                continue
            delta = deltas[key]
            delta[0] += sign
            delta[1] += sign * (fact["is_ok"] is True)
            delta[2] += sign * (fact["seconds"] or 0)
            delta[3] += sign * (fact["seconds"] is not None)
    # In key order, so that concurrent actions lock the rows they share in the same order (no deadlock).
    rows = [dict(zip(ROLLUP_KEY, key, strict=True), n=d[0], ok=d[1], seconds=d[2], timed=d[3])
            for key, d in sorted(deltas.items()) if any(d)]  # fmt: skip
    if rows:
        statement = _upsert(connection.dialect.name, MonthlyCount, ROLLUP_KEY, ("n", "ok", "seconds", "timed"), True)
        connection.execute(statement, rows)


# The facts of items by (measure, source id), built once.
_FACTS_OF = select(Fact.__table__).where(tuple_(Fact.measure, Fact.source_id).in_(bindparam("keys", expanding=True)))


# A case's own facts (a summoned party counts for its own unit), read and moved with the case; built once.
_OWN_FACTS = (Fact.complaint_id == bindparam("case_id"), Fact.measure != PARTY_MEASURE)
_CASE_FACTS = select(Fact.__table__).where(*_OWN_FACTS)
_MOVE_CASE_FACTS = update(Fact.__table__).where(*_OWN_FACTS).values({k: bindparam(f"new_{k}") for k in MOVING})


def keep_facts(session, flush_context):
    """Every counted item written in this flush gets its fact (and counts) written too, on the same
    connection."""
    norm, rules = get_norm(), get_rules()
    rows, changed, moved = [], [], []
    for obj in chain(session.new, session.dirty):
        is_new = obj in session.new
        if isinstance(obj, Clock) and (is_new or _changed(obj, CLOCK_ATTRS)):
            (rows if is_new else changed).append(clock_fact(obj, obj.complaint, norm, rules))
        elif isinstance(obj, Event) and is_new:
            rows.extend(event_facts(obj, obj.complaint, norm, rules))
        elif isinstance(obj, WhistleParty) and (is_new or _changed(obj, PARTY_ATTRS)):
            (rows if is_new else changed).append(party_fact(obj, obj.whistle.complaint))
        elif isinstance(obj, Complaint) and not is_new and _changed(obj, DIMENSION_ATTRS):
            moved.append(obj)
    connection = session.connection()
    for complaint in moved:
        dims = {k: v for k, v in dimensions(complaint).items() if k in MOVING}
        old = connection.execute(_CASE_FACTS, {"case_id": complaint.id}).mappings().all()
        if old:
            count_changes(connection, old, [{**fact, **dims} for fact in old])
            moved_to = {f"new_{k}": v for k, v in dims.items()}
            connection.execute(_MOVE_CASE_FACTS, {"case_id": complaint.id, **moved_to})
    # What a changed item counts for now is read, not made again: a fact may have been written under
    # other rules, or keep dimensions of its own (a summoned party's).
    changed = [row for row in changed if row is not None]
    keys = [(row["measure"], row["source_id"]) for row in changed]
    old = connection.execute(_FACTS_OF, {"keys": keys}).mappings().all() if keys else []
    rows = [row for row in rows if row is not None] + changed
    count_changes(connection, old, rows)
    write_facts(connection, rows)


def refresh_counts(connection):
    """Recount every month from the facts (after a rebuild or a bulk load)."""
    connection.execute(delete(MonthlyCount))
    none = {"unit_id": 0, "district": "", "categories": 0, "level": ""}
    key = [func.coalesce(getattr(Fact, c), literal(none[c])) if c in none else getattr(Fact, c) for c in ROLLUP_KEY]
    met = func.sum(case((Fact.is_ok.is_(True), 1), else_=0))
    counts = [func.count(), met, func.coalesce(func.sum(Fact.seconds), 0), func.count(Fact.seconds)]
    query = select(*key, *counts).where(Fact.month.is_not(None)).group_by(*key)
    connection.execute(insert(MonthlyCount).from_select([*ROLLUP_KEY, "n", "ok", "seconds", "timed"], query))


def rebuild_facts(batch: int = 500) -> int:
    """Recompute every fact from the cases (after an upgrade, or to check the kept ones); returns
    how many were written. Flushes; the caller commits."""
    norm, rules = get_norm(), get_rules()
    db.session.execute(delete(Fact))
    written, last_id = 0, 0
    while True:
        complaints = db.session.scalars(
            select(Complaint).where(Complaint.id > last_id).order_by(Complaint.id).limit(batch)
        ).all()
        if not complaints:
            break
        by_id = {c.id: c for c in complaints}
        rows = [clock_fact(clock, c, norm, rules) for c in complaints for clock in c.clocks]
        events = db.session.scalars(select(Event).where(Event.complaint_id.in_(by_id)).order_by(Event.id))
        rows += [f for e in events for f in event_facts(e, by_id[e.complaint_id], norm, rules)]
        parties = db.session.execute(
            select(WhistleParty, Whistle.complaint_id).join(Whistle).where(Whistle.complaint_id.in_(by_id))
        )
        rows += [party_fact(party, by_id[complaint_id]) for party, complaint_id in parties]
        rows = [row for row in rows if row is not None]
        write_facts(db.session.connection(), rows)
        written += len(rows)
        last_id = complaints[-1].id
        db.session.expunge_all()
    refresh_counts(db.session.connection())
    return written
