"""吹哨报到 and 督办: whistles, who a party of workflows/ladder.yaml is, the supervision board and the
ledger, and the effects of the `whistle` and `supervise` actions of workflows/lifecycle.yaml."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from ecoflow.casework.access import check_can_view, role_labels, role_set, roles_on
from ecoflow.casework.step import Step
from ecoflow.casework.trail import record_event
from ecoflow.complaints.models import Clock, Complaint, Event
from ecoflow.complaints.privacy import redact
from ecoflow.errors import Conflict, Forbidden, Invalid, NotFound
from ecoflow.exchange.outbox import enqueue
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.notifications.services import notify
from ecoflow.officers.models import Officer, RoleGrant, Unit
from ecoflow.timeutil import SHANGHAI, as_utc

from .models import Supervision, Whistle, WhistleParty

log = logging.getLogger(__name__)


# --- who a party of workflows/ladder.yaml is --------------------------------------------------


def party_unit_id(name: str, complaint: Complaint) -> int | None:
    """The unit a party stands for on this case: a fixed unit by code, or the case's unit."""
    return party_unit_ids(name, [complaint])[0]


def party_unit_ids(name: str, complaints: Sequence[Complaint]) -> list[int | None]:
    """party_unit_id for each of the cases, in one query at most however many they are."""
    party = get_norm().ladder.parties[name]
    if party["peer"] or not complaints:
        return [None] * len(complaints)
    if party["unit"]:
        bureaus = {c.bureau_code for c in complaints}
        units = dict(
            db.session.execute(
                select(Unit.bureau_code, Unit.id).where(Unit.bureau_code.in_(bureaus), Unit.code == party["unit"])
            ).all()
        )
        return [units.get(c.bureau_code) for c in complaints]
    if party["bureau_wide"] or party["any_bureau"]:
        return [None] * len(complaints)
    return [c.unit_id for c in complaints]


def party_officer_ids(name: str, complaint: Complaint, bureau_code: str | None = None) -> list[int]:
    """The officers a party means on this case: holders of its role in its unit (by grant or by
    membership), or, where the unit has none, in the whole bureau."""
    return party_officer_ids_each(name, [complaint], bureau_code)[0]


def party_officer_ids_each(
    name: str, complaints: Sequence[Complaint], bureau_code: str | None = None
) -> list[list[int]]:
    """party_officer_ids for each of the cases, in two queries at most however many they are: the
    role's holders in every bureau involved are read once and picked per case."""
    party = get_norm().ladder.parties[name]
    if party["assignee"]:
        return [[c.officer_id] if c.officer_id else [] for c in complaints]
    if party["peer"]:
        return [[] for _ in complaints]  # officers of another bureau: reached over the exchange
    if not complaints:
        return []
    holders = (
        select(RoleGrant.officer_id, RoleGrant.bureau_code, RoleGrant.unit_id, Officer.unit_id)
        .join(Officer)
        .where(RoleGrant.role == party["role"], Officer.is_active.is_(True))
    )
    if not party["any_bureau"]:
        holders = holders.where(RoleGrant.bureau_code.in_({bureau_code or c.bureau_code for c in complaints}))
    by_bureau: dict[str | None, list[tuple[int, int | None, int | None]]] = {}
    for officer_id, grant_bureau, grant_unit, home in db.session.execute(holders.order_by(RoleGrant.officer_id)):
        by_bureau.setdefault(None if party["any_bureau"] else grant_bureau, []).append((officer_id, grant_unit, home))
    result = []
    for complaint, unit_id in zip(complaints, party_unit_ids(name, complaints), strict=True):
        rows = by_bureau.get(None if party["any_bureau"] else bureau_code or complaint.bureau_code, [])
        in_unit = [
            o
            for o, grant_unit, home in rows
            if unit_id and (grant_unit == unit_id or (grant_unit is None and home == unit_id))
        ]
        result.append(in_unit or [o for o, grant_unit, _ in rows if grant_unit is None])
    return result


def local_minute(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# --- whistles ---------------------------------------------------------------------------------


def blow_whistle(complaint, reason, parties, actor, now, clock=None, peer=None) -> Whistle:
    """吹哨: summon `parties` (names of workflows/ladder.yaml) to report in by the norm's deadline.
    `peer` (bureau, whistle id): the whistle a peer bureau blew at this one, answered over the exchange."""
    norm = get_norm()
    ladder = norm.ladder
    across = complaint.peer_bureau is not None
    report_by = norm.calendar.add(now, ladder.report_period(complaint.grade, across))
    # The whistle starts at the highest escalation level it summons (-1: none of them), so that
    # escalating goes to the next one up.
    levels = [ladder.escalation.index(p) for p in parties if p in ladder.escalation]
    whistle = Whistle(
        complaint_id=complaint.id, clock_id=clock.id if clock else None, reason=reason, blown_at=now,
        blown_by_id=actor.id if actor else None, level=max(levels, default=-1), escalate_at=report_by,
        peer_bureau=peer[0] if peer else None, peer_whistle_id=peer[1] if peer else None,
    )  # fmt: skip
    db.session.add(whistle)
    db.session.flush()
    for name in dict.fromkeys(parties):
        _summon(whistle, complaint, name, now, report_by)
    return whistle


def _summon(whistle: Whistle, complaint: Complaint, name: str, now: datetime, report_by: datetime):
    ladder = get_norm().ladder
    peer = ladder.parties[name]["peer"]
    if peer and (complaint.peer_bureau is None or whistle.peer_bureau is not None):
        return  # no other bureau on this case, or the whistle came from it
    party = WhistleParty(
        whistle_id=whistle.id, party=name, bureau_code=complaint.peer_bureau if peer else complaint.bureau_code,
        unit_id=party_unit_id(name, complaint), summoned_at=now, report_by=report_by, level=whistle.level,
    )  # fmt: skip
    whistle.parties.append(party)
    if peer:
        # The reason is free text crossing the border: the complainant's name or phone stays behind.
        payload = {"whistle_id": whistle.id, "case_no": complaint.case_no, "peer_case_no": complaint.peer_case_no,
                   "reason": redact(whistle.reason, complaint), "report_by": report_by.isoformat()}  # fmt: skip
        enqueue("whistle.blow", complaint.bureau_code, complaint.peer_bureau, complaint.case_no, payload, now)
        return
    label = ladder.parties[name]["label"]
    # Notices reach people who see the complainant masked (and go out by SMS): so does the reason.
    reason = redact(whistle.reason, complaint)
    message = f"吹哨：案件 {complaint.case_no} 请{label}于 {local_minute(report_by)} 前报到。事由：{reason}"
    notify(party_officer_ids(name, complaint), "whistle", message, complaint.case_no, now)


def escalate_whistle(whistle: Whistle, now: datetime) -> list[str]:
    """A whistle some party did not report to in time goes one level up; returns who is summoned."""
    norm = get_norm()
    ladder = norm.ladder
    if norm.states[whistle.complaint.state].get("final"):
        whistle.escalate_at = None  # the case has ended: nobody is summoned for it any more
        return []
    late = [p for p in _pending(whistle) if p.report_by <= now]
    if not late:
        whistle.escalate_at = _next_escalation(whistle)
        return []
    next_level = whistle.level + 1
    if next_level >= len(ladder.escalation):
        log.warning("Whistle %s on %s: nobody reported in and the top of the ladder is reached",
                    whistle.id, whistle.complaint.case_no)  # fmt: skip
        whistle.escalate_at = None
        return []
    name = ladder.escalation[next_level]
    complaint = whistle.complaint
    report_by = get_norm().calendar.add(now, ladder.report_period(complaint.grade, complaint.peer_bureau is not None))
    whistle.level = next_level  # the late parties are escalated past: no longer awaited
    _summon(whistle, complaint, name, now, report_by)
    whistle.escalate_at = report_by
    complaint.updated_at = now
    data = {"whistle": whistle.id, "summoned": name, "not_reported": [p.party for p in late], "by": "ladder"}
    record_event(complaint, None, "escalate", complaint.state, data, now)
    return [name]


def _pending(whistle: Whistle) -> list[WhistleParty]:
    """The parties of the whistle's current level that have not reported in."""
    return [p for p in whistle.parties if p.reported_at is None and p.level == whistle.level]


def _next_escalation(whistle: Whistle) -> datetime | None:
    waiting = [p.report_by for p in _pending(whistle)]
    return min(waiting) if waiting and whistle.closed_at is None else None


def get_whistle(officer: Officer, whistle_id: int) -> Whistle:
    whistle = db.session.get(Whistle, whistle_id)
    if whistle is None:
        raise NotFound(f"没有编号为 {whistle_id} 的吹哨。", code="unknown_whistle")
    summoned = any(officer.id in party_officer_ids(p.party, whistle.complaint, p.bureau_code) for p in whistle.parties)
    if not summoned:  # a summoned party may come from another bureau (the coordination office)
        check_can_view(officer, whistle.complaint)
    return whistle


def report_in(officer: Officer, whistle: Whistle, who_will_act: str, now: datetime) -> WhistleParty:
    """报到: the officer reports in for the first party of the whistle they belong to."""
    if whistle.closed_at is not None:
        raise Conflict("该吹哨已关闭。", code="whistle_closed")
    waiting = [p for p in whistle.parties if p.reported_at is None]
    party = next(
        (p for p in waiting if officer.id in party_officer_ids(p.party, whistle.complaint, p.bureau_code)), None
    )
    if party is None:
        raise Forbidden("您不在本次吹哨的被召集方中，或已报到。", code="not_summoned")
    first = all(p.reported_at is None for p in whistle.parties)
    party.reported_at, party.reported_by_id, party.who_will_act = now, officer.id, who_will_act
    whistle.escalate_at = _next_escalation(whistle)
    complaint = whistle.complaint
    if whistle.peer_bureau and first:  # this bureau reports in to the peer that summoned it
        payload = {"whistle_id": whistle.peer_whistle_id, "who_will_act": who_will_act}
        enqueue("whistle.report_in", complaint.bureau_code, whistle.peer_bureau, complaint.case_no, payload, now)
    complaint.updated_at = now
    record_event(complaint, officer, "report_in", complaint.state,
                 {"whistle": whistle.id, "party": party.party, "who_will_act": who_will_act}, now)  # fmt: skip
    return party


def whistle_from_peer(sender: str, recipient: str, payload: dict, now: datetime) -> Whistle:
    """A peer bureau blew a whistle on a case linked to one of ours: summon our own parties."""
    complaint = db.session.scalar(select(Complaint).where(
        Complaint.bureau_code == recipient, Complaint.peer_bureau == sender,
        or_(Complaint.case_no == payload.get("peer_case_no"), Complaint.peer_case_no == payload["case_no"]),
    ))  # fmt: skip
    if complaint is None:
        raise NotFound(f"{recipient} 没有与 {sender} 的案件 {payload['case_no']} 关联的案件。", code="unknown_case")
    parties = [p for p in get_norm().ladder.rung("whistle").summon if not get_norm().ladder.parties[p]["peer"]]
    reason = f"{sender} 吹哨（案件 {payload['case_no']}）：{payload['reason']}"
    whistle = blow_whistle(complaint, reason, parties, None, now, peer=(sender, payload["whistle_id"]))
    complaint.updated_at = now
    record_event(complaint, None, "whistle", complaint.state,
                 {"whistle": whistle.id, "peer": sender, "peer_whistle": payload["whistle_id"], "by": "exchange"},
                 now)  # fmt: skip
    return whistle


def report_in_from_peer(sender: str, recipient: str, payload: dict, now: datetime) -> WhistleParty:
    """报到 of a peer bureau this bureau summoned, come back over the exchange."""
    party = db.session.scalar(
        select(WhistleParty).join(Whistle).join(Complaint).where(
            WhistleParty.whistle_id == payload["whistle_id"], WhistleParty.bureau_code == sender,
            Complaint.bureau_code == recipient,
        )
    )  # fmt: skip
    if party is None:
        raise NotFound(f"没有召集 {sender} 的吹哨 {payload['whistle_id']}。", code="unknown_whistle")
    if party.reported_at is None:
        party.reported_at, party.who_will_act = now, payload["who_will_act"]
        whistle = party.whistle
        whistle.escalate_at = _next_escalation(whistle)
        complaint = whistle.complaint
        complaint.updated_at = now
        record_event(complaint, None, "report_in", complaint.state, {"whistle": whistle.id, "party": party.party,
                     "bureau": sender, "who_will_act": party.who_will_act, "by": "exchange"}, now)  # fmt: skip
    return party


def close_whistle(officer: Officer, whistle: Whistle, joint_action: str, now: datetime) -> Whistle:
    """The joint action is recorded and the whistle closes (supervisor, leader, or whoever blew it)."""
    if whistle.closed_at is not None:
        raise Conflict("该吹哨已关闭。", code="whistle_closed")
    if not (role_set("closes_whistles") & roles_on(officer, whistle.complaint)) and whistle.blown_by_id != officer.id:
        raise Forbidden(f"只有{role_labels('closes_whistles')}或吹哨人可以关闭吹哨。", code="role_not_allowed")
    whistle.closed_at, whistle.closed_by_id, whistle.joint_action = now, officer.id, joint_action
    whistle.escalate_at = None
    complaint = whistle.complaint
    complaint.updated_at = now
    record_event(complaint, officer, "close_whistle", complaint.state,
                 {"whistle": whistle.id, "joint_action": joint_action}, now)  # fmt: skip
    return whistle


def end_whistles(complaint: Complaint, now: datetime) -> list[Whistle]:
    """A case that ends (办结, 合并, 不予受理) ends its open whistles: each closes with the reason on
    the record, and nobody is summoned or escalated for the case any more."""
    open_whistles = db.session.scalars(
        select(Whistle).where(Whistle.complaint_id == complaint.id, Whistle.closed_at.is_(None)).order_by(Whistle.id)
    ).all()
    state = get_norm().states[complaint.state]["label"]
    for whistle in open_whistles:
        whistle.closed_at, whistle.escalate_at = now, None
        whistle.joint_action = f"案件{state}，吹哨随案关闭。"
        record_event(complaint, None, "close_whistle", complaint.state,
                     {"whistle": whistle.id, "joint_action": whistle.joint_action, "by": "system"}, now)  # fmt: skip
    return list(open_whistles)


def list_whistles(officer: Officer, filters: dict) -> list[Whistle]:
    """Whistles on the cases of the officer's bureaus, newest first."""
    query = select(Whistle).join(Complaint).where(Complaint.bureau_code.in_(officer.bureau_codes))
    if filters.get("state") == "open":
        query = query.where(Whistle.closed_at.is_(None))
    elif filters.get("state") == "closed":
        query = query.where(Whistle.closed_at.is_not(None))
    if filters.get("case_no"):
        query = query.where(Complaint.case_no == filters["case_no"])
    if filters.get("unreported"):
        query = query.where(Whistle.id.in_(select(WhistleParty.whistle_id).where(WhistleParty.reported_at.is_(None))))
    return db.session.scalars(query.order_by(Whistle.blown_at.desc(), Whistle.id.desc()).limit(500)).all()


# --- effects of the norm's actions ------------------------------------------------------------


def blow_whistle_by_hand(step: Step):
    """吹哨 by an officer: the parties named, or those the ladder's whistle rung summons."""
    parties = step.data.get("parties") or list(step.norm.ladder.rung("whistle").summon)
    whistle = blow_whistle(step.complaint, step.data["reason"], parties, step.actor, step.now)
    step.record["whistle"] = whistle.id


def open_supervision(step: Step):
    """督办: on the supervision board, and the officer and the unit's supervisor told."""
    db.session.add(Supervision(
        complaint_id=step.complaint.id, opened_at=step.now, opened_by_id=step.actor.id, note=step.data["note"]
    ))  # fmt: skip
    recipients = party_officer_ids("officer", step.complaint) + party_officer_ids("unit_supervisor", step.complaint)
    notify(
        recipients,
        "supervise",
        f"督办：案件 {step.complaint.case_no}。{redact(step.data['note'], step.complaint)}",
        step.complaint.case_no,
        step.now,
    )


# --- telling officers what changed (workflows/inbox.yaml) ----------------------------------------


def tell_officers(step: Step):
    """The notice inbox.yaml gives the action, to the parties and roles it names (not to whoever took
    the action), in the officer's own words: masked free text, names not codes."""
    notice = step.norm.inbox["actions"].get(step.action.name)
    if notice is None:
        return
    complaint, data = step.complaint, step.data
    if notice["when"] == "unresolved" and data.get("resolved", True) and data.get("satisfaction") != "unsatisfied":
        return
    recipients = [o for party in notice["notify"] for o in party_officer_ids(party, complaint)]
    if notice["roles"]:
        recipients += db.session.scalars(
            select(RoleGrant.officer_id).join(Officer).where(
                RoleGrant.bureau_code == complaint.bureau_code, RoleGrant.role.in_(notice["roles"]),
                Officer.is_active.is_(True),
            ).order_by(RoleGrant.officer_id)
        ).all()  # fmt: skip
    if step.actor is not None:
        recipients = [o for o in recipients if o != step.actor.id]
    approved = data.get("approved")
    values = {
        "case_no": complaint.case_no,
        "grade": step.norm.grades[complaint.grade].label if complaint.grade in step.norm.grades else "",
        "unit": complaint.unit.name if complaint.unit else "",
        "officer": complaint.officer.name if complaint.officer else "",
        "actor": step.actor.name if step.actor else "系统",
        "reason": redact(data.get("reason") or "", complaint),
        "decision": "已同意" if approved else "未获同意",
        "note": redact(data.get("note") or "", complaint),
    }
    notify(recipients, step.action.name, notice["message"].format(**values), complaint.case_no, step.now)


# --- the supervision board --------------------------------------------------------------------


def overdue_clocks(officer: Officer, now: datetime) -> list[Clock]:
    """Running clocks past due on the officer's bureaus' cases, the latest first."""
    return db.session.scalars(
        select(Clock).join(Complaint).options(contains_eager(Clock.complaint)).where(
            Complaint.bureau_code.in_(officer.bureau_codes),
            Clock.stopped_at.is_(None), Clock.paused_at.is_(None), Clock.due_at <= now,
        ).order_by(Clock.due_at)
    ).all()  # fmt: skip


class LedgerEntry(NamedTuple):
    """One row of the ledger: a key case and its 包案 leaders."""

    complaint: Complaint
    leaders: list[Officer]


def ledger(officer: Officer, include_closed: bool) -> list[LedgerEntry]:
    """挂账: the key cases on the ledger of the officer's bureaus with their 包案 leaders; 销号 ones
    only when asked."""
    query = select(Complaint).where(Complaint.bureau_code.in_(officer.bureau_codes), Complaint.is_on_ledger.is_(True))
    if not include_closed:
        query = query.where(Complaint.state != "closed")
    cases = db.session.scalars(query.order_by(Complaint.received_at)).all()
    return [LedgerEntry(c, leaders) for c, leaders in zip(cases, ledger_leaders(cases), strict=True)]


def suggest_ledger_leader(step: Step):
    """A case that went onto the ledger without a named 包案 leader gets its unit's 分管领导 (else the
    bureau's), for a supervisor to confirm or change (确定包案领导)."""
    complaint = step.complaint
    if not complaint.is_on_ledger or complaint.ledger_leader_id is not None or complaint.unit_id is None:
        return  # graded before it is assigned: suggested when its unit is known
    with db.session.no_autoflush:  # the case is written once the action has moved its state
        ids = party_officer_ids("unit_leader", complaint)
        if not ids:
            return
        leader = db.session.scalars(select(Officer).where(Officer.id.in_(ids)).order_by(Officer.username)).first()
    complaint.ledger_leader_id = leader.id
    db.session.expire(complaint, ["ledger_leader"])
    step.record["ledger_leader"] = leader.username


def name_ledger_leader(step: Step):
    """确定包案领导: an active leader of the case's bureau (of any of its units), told in their inbox."""
    complaint, username = step.complaint, step.data["leader"]
    role = get_norm().ladder.parties["unit_leader"]["role"]
    leader = db.session.scalar(select(Officer).where(Officer.username == username))
    if (
        leader is None
        or not leader.is_active
        or role not in {g.role for g in leader.grants if g.bureau_code == complaint.bureau_code}
    ):
        message = f"{username} 不是本单位在岗的分管领导。"
        raise Invalid(message, {"fields": {"leader": [message]}})
    step.record["from_leader"] = complaint.ledger_leader.username if complaint.ledger_leader_id else None
    complaint.ledger_leader_id = leader.id
    db.session.expire(complaint, ["ledger_leader"])
    notify([leader.id], "ledger_leader", f"您已被确定为挂账案件 {complaint.case_no} 的包案领导。", complaint.case_no,
           step.now)  # fmt: skip


def unvisited(officer: Officer, now: datetime) -> list[tuple[Complaint, datetime]]:
    """下访: open key cases on the ledger of the officer's bureaus whose 包案 leader has not recorded a visit
    within petition.yaml's visit_within, counted from the last visit or, before any, from when the case
    was first graded; each with that moment, the longest unvisited first."""
    norm = get_norm()
    events = Event.__table__.c
    visited = (
        select(events.complaint_id, func.max(events.occurred_at).label("at"))
        .where(events.action == "record_visit").group_by(events.complaint_id).subquery()
    )  # fmt: skip
    graded = (
        select(events.complaint_id, func.min(events.occurred_at).label("at"))
        .where(events.action.in_(("grade", "assign", "regrade"))).group_by(events.complaint_id).subquery()
    )  # fmt: skip
    since = func.coalesce(visited.c.at, graded.c.at, Complaint.received_at)
    rows = db.session.execute(
        select(Complaint, since)
        .outerjoin(visited, visited.c.complaint_id == Complaint.id)
        .outerjoin(graded, graded.c.complaint_id == Complaint.id)
        .where(
            Complaint.bureau_code.in_(officer.bureau_codes), Complaint.is_on_ledger.is_(True),
            Complaint.state != "closed",
        )
        .order_by(since)
    ).all()  # fmt: skip
    period = norm.petition["visit_within"]
    return [(c, as_utc(at)) for c, at in rows if norm.calendar.add(as_utc(at), period) <= now]


def ledger_leaders(complaints: Sequence[Complaint]) -> list[list[Officer]]:
    """包案: the leaders who answer for each key case (its named leader; else its unit's leader, else the
    bureau's), by username, in a fixed number of queries however many cases there are."""
    named = [c.ledger_leader_id for c in complaints]
    if any(named):
        officers = {o.id: o for o in db.session.scalars(select(Officer).where(Officer.id.in_({i for i in named if i})))}
        fallback = ledger_leaders([c for c in complaints if c.ledger_leader_id is None])
        result, rest = [], iter(fallback)
        for complaint in complaints:
            result.append([officers[complaint.ledger_leader_id]] if complaint.ledger_leader_id else next(rest))
        return result
    ids = party_officer_ids_each("unit_leader", complaints)
    wanted = {i for case in ids for i in case}
    if not wanted:
        return [[] for _ in complaints]
    officers = db.session.scalars(select(Officer).where(Officer.id.in_(wanted)).order_by(Officer.username)).all()
    return [[o for o in officers if o.id in case] for case in map(set, ids)]
