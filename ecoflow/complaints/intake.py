"""登记: a complaint comes in, numbered, routed, graded by suggestion, matched against earlier ones;
and the keyed hashes that match a complainant or a place across bureaus. Flushes; the caller commits."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ecoflow.casework.access import check_can_view, check_may_register
from ecoflow.casework.clocks import start_clock
from ecoflow.casework.instructions import add_instruction
from ecoflow.casework.petitions import start_decision_clock
from ecoflow.casework.trail import record_event
from ecoflow.errors import Invalid
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer
from ecoflow.routing import route_address
from ecoflow.timeutil import SHANGHAI

from . import privacy
from .duplicates import count_repeats, earlier_complaints, with_complaints
from .grading import keyword_categories, origin_grade, suggest_grade
from .models import CaseCounter, Complaint

# Received times further in the future than this are refused (clocks of other systems drift a little).
CLOCK_SKEW = timedelta(minutes=5)


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
    if actor is not None:
        check_may_register(actor, bureau_code)
    external_id = data.get("external_id")
    # A lead from a peer comes through the exchange's inbox, which applies each message once: its
    # external id (the message id) needs no lookup, nor a savepoint of its own (the inbox's covers it).
    once = data.get("lead") is not None
    if external_id and not once:
        existing = _find_by_external_id(bureau_code, data["channel"], external_id)
        if existing is not None:
            return existing, False
    received_at = data.get("received_at") or now
    if received_at > now + CLOCK_SKEW:
        raise Invalid("受理时间不能晚于当前时间。", {"fields": {"received_at": ["受理时间不能晚于当前时间。"]}})

    location = data["location"]
    complainant = data.get("complainant") or {}
    route = route_address(norm.routing, location["address"], bureau_code, location.get("district"))
    # A lead is graded as its origin graded it (origin_grade), which looked for repeats there; the
    # dispatcher's 查重 still finds earlier cases here on demand.
    matches = [] if once else _earlier_for(norm, bureau_code, data, route, received_at)
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
        lead=data.get("lead"),
        callback_consent=complainant.get("callback_consent", False),
        is_sensitive=data.get("sensitive", False),
        notify_complainant=complainant.get("notify", True),
        is_petition=data.get("petition", False),
        people_count=data.get("people_count"),
        is_joint_petition=data.get("joint", False),
        # The complainant's home is their personal data; the place of the pollution is not, unless
        # it is that home (我家楼下: `location.at_home`).
        complainant_address=complainant.get("address") or (location["address"] if location.get("at_home") else None),
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
            people_count=data.get("people_count"),
            petition=data.get("petition", False),
        )
        | {"duplicates": [{"case_no": m.case_no, "reason": m.reason} for m in matches[:max_shown]]}
        | origin_grade(norm, data.get("lead")),
        received_at=received_at,
        created_at=now,
        updated_at=now,
        category_rows=[],
        clocks=[],
        event_seq=0,
        event_hash="",
        reopen_count=0,
        petition_level=0,
    )
    if complaint.is_petition:
        start_decision_clock(complaint)

    for kind, period in (data.get("clocks") or {}).items():  # clocks from receipt (a lead's 签收 and 受理)
        start_clock(complaint, kind, period, now)

    def add():
        complaint.case_no = _next_case_no(bureau_code, received_at)
        origin = {"channel": complaint.channel, "external_id": external_id, **data.get("origin", {}),
                  "district": route["district_code"], "routing_flag": route["flag"]}  # fmt: skip
        record_event(complaint, actor, "register", None, origin, now)
        db.session.add(complaint)
        db.session.flush()

    def add_with_instruction():
        add()
        if data.get("instruction"):  # 领导批示 at intake: the 报结 goes to the bureau's leaders
            add_instruction(complaint, {**data["instruction"], "by_actor": False}, actor, now)
            db.session.flush()

    if not external_id or once:
        add_with_instruction()
        return complaint, True
    try:
        # Numbered inside the savepoint: a registration that loses a race leaves no gap.
        with db.session.begin_nested():
            add_with_instruction()
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
    check_may_register(officer, bureau_code)  # an exact address in, its cases out: intake's alone
    location = subject["location"]
    route = route_address(norm.routing, location["address"], bureau_code, location.get("district"))
    return with_complaints(_earlier_for(norm, bureau_code, subject, route, subject.get("received_at") or now)[:limit])


# What the masked copy of a complaint's searchable text is made of.
_MASKED_FROM = ("description", "complainant_name", "complainant_phone", "complainant_address", "address",
                "district_code")  # fmt: skip


def keep_masked_copy(session, flush_context, instances):
    """Before a flush: every complaint written gets its masked searchable copy made again when what
    it is made of changed, whichever door wrote it."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Complaint) and (
            obj in session.new or any(inspect(obj).attrs[name].history.has_changes() for name in _MASKED_FROM)
        ):
            obj.masked_text = privacy.searchable_copy(obj)
