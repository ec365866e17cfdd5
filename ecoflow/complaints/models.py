"""A complaint, its categories, its clocks, extension and pause records, and its events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
    text,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.extensions import db
from ecoflow.officers.models import Officer, Unit
from ecoflow.sqltypes import UTCDateTime
from ecoflow.timeutil import utcnow

# States in which a responsible officer answers for the case, and states before any officer is named.
# The database holds the two facts; a state added in workflows/ is bound by neither.
OFFICER_STATES = ("assigned", "handling", "transferred", "replied", "verifying", "closed")
UNASSIGNED_STATES = ("received", "accepted", "graded", "rejected", "merged")


def _in(states) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


# The channel of a case made of a lead from a peer bureau.
LEAD_CHANNEL = "peer_transfer"


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("bureau_code", "channel", "external_id"),
        CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_closed_at"),
        CheckConstraint(f"NOT {_in(OFFICER_STATES)} OR officer_id IS NOT NULL", name="officer_when_assigned"),
        CheckConstraint(f"NOT {_in(UNASSIGNED_STATES)} OR officer_id IS NULL", name="no_officer_before_assigned"),
        CheckConstraint("reopen_count >= 0", name="reopen_count_not_negative"),
        Index("ix_complaints_bureau_state", "bureau_code", "state"),
        Index("ix_complaints_bureau_address", "bureau_code", "address", "received_at"),
        Index("ix_complaints_bureau_district", "bureau_code", "district_code", "received_at"),
        # 案件查询 (complaints/search.py): the complainant by exact name; closed-date ranges and sorting.
        Index("ix_complaints_complainant_name", "complainant_name"),
        Index("ix_complaints_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(24), unique=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    # The description as a viewer who sees the complainant masked sees it: what their searches read
    # (see ecoflow.complaints.privacy.searchable_copy), so that a search tells them nothing hidden.
    masked_text: Mapped[str | None] = mapped_column(Text)

    complainant_name: Mapped[str | None] = mapped_column(String(50))
    complainant_phone: Mapped[str | None] = mapped_column(String(20))
    # Keyed hash of the phone number (信访大数据共享): matches the complainant across bureaus.
    complainant_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # The same keyed hash of the exact address: how bureaus match "the same place" without sending it.
    place_key: Mapped[str | None] = mapped_column(String(64), index=True)
    callback_consent: Mapped[bool] = mapped_column(default=False)
    # 敏感诉求匿名交办: the complainant is hidden from the handling unit too.
    is_sensitive: Mapped[bool] = mapped_column(default=False)
    # The complainant hears back by SMS (receipt, answer, closure) unless they asked not to be contacted.
    notify_complainant: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    # The complainant's own home: personal data, masked for those without need. Apart from it,
    # `address` is the place of the pollution (seen or coming from): the object of the work, shown
    # whole and sent whole with a lead, unless it is this home ("我家楼下").
    complainant_address: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(200))
    district_code: Mapped[str | None] = mapped_column(String(12))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    # 属地: where the address was placed (see ecoflow.routing); a flag for the dispatcher when the
    # place is in another bureau's jurisdiction (a suggested transfer), ambiguous or unreadable.
    routing: Mapped[dict | None] = mapped_column(JSON)
    routing_flag: Mapped[str | None] = mapped_column(String(20), index=True)

    state: Mapped[str] = mapped_column(String(20), index=True)
    grade: Mapped[str | None] = mapped_column(String(20))
    # The grading suggestion made at intake: {"grade", "categories", "reasons"}.
    suggestion: Mapped[dict] = mapped_column(JSON)
    is_on_ledger: Mapped[bool] = mapped_column(default=False)
    # 包案领导: the leader named for a key case on the ledger (suggested from its unit's 分管领导 when it
    # goes onto the ledger, confirmed or changed by a supervisor); with the bureau's leader, who strikes it off.
    ledger_leader_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    reopen_count: Mapped[int] = mapped_column(default=0)
    # 信访事项 (《信访工作条例》): a formal petition runs the clocks of workflows/petition.yaml; how many
    # people brought it, and whether as a joint petition (联名信访).
    is_petition: Mapped[bool] = mapped_column(default=False, server_default=false())
    people_count: Mapped[int | None]
    is_joint_petition: Mapped[bool] = mapped_column(default=False, server_default=false())
    # When the petitioner received the last written answer (答复, 复查意见): the 30 days for asking the
    # level above run from it; and how far it went: 0 the answer, 1 复查 asked, 2 复核 asked.
    petition_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    petition_level: Mapped[int] = mapped_column(default=0, server_default="0")
    # The case this one is linked to at a peer bureau (线索移送).
    peer_bureau: Mapped[str | None] = mapped_column(String(8))
    peer_case_no: Mapped[str | None] = mapped_column(String(24))
    # What a lead received from a peer said, for its card (线索卡): origin bureau and case number,
    # reason, suspected source, asks, evidence (text and files with their hashes), grade,
    # categories, reply deadline. None on every other case.
    lead: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Optimistic locking: every action bumps it, a stale one is refused.
    version: Mapped[int] = mapped_column(Integer)
    # Head of the hash chain of this case's events, so that a removed last event shows too.
    event_seq: Mapped[int] = mapped_column(default=0)
    event_hash: Mapped[str] = mapped_column(String(64), default="")

    __mapper_args__ = {"version_id_col": version}

    # Read only: the case writes unit_id and officer_id, so that a flush of a case has no unit or
    # officer (nor their roles) to look through.
    unit: Mapped[Unit | None] = relationship(lazy="joined", viewonly=True)
    officer: Mapped[Officer | None] = relationship(
        foreign_keys=[officer_id], lazy="joined", innerjoin=False, viewonly=True
    )
    merged_into: Mapped[Complaint | None] = relationship(remote_side=[id], lazy="select")
    ledger_leader: Mapped[Officer | None] = relationship(foreign_keys=[ledger_leader_id], lazy="select", viewonly=True)
    category_rows: Mapped[list[ComplaintCategory]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ComplaintCategory.category"
    )
    clocks: Mapped[list[Clock]] = relationship(lazy="selectin", back_populates="complaint", order_by="Clock.id")
    categories: AssociationProxy[list[str]] = association_proxy(
        "category_rows", "category", creator=lambda category: ComplaintCategory(category=category)
    )

    def running_clock(self, kind: str) -> Clock | None:
        return next((c for c in self.clocks if c.kind == kind and c.stopped_at is None), None)

    @property
    def is_received_lead(self) -> bool:
        """A case this bureau made of a lead a peer sent it (线索移送): it answers to that peer's case."""
        return self.channel == LEAD_CHANNEL and self.peer_bureau is not None


# The citizen looks a case up by the hotline centre's order number, in any case of letters.
Index("ix_complaints_external_id_upper", func.upper(Complaint.external_id))
# Free text on PostgreSQL: GIN indexes of the masked copy, the description and the place together, by
# their character bigrams (ecoflow_bigrams, made by migration a16c0de5e4c1) and by pg_trgm's trigrams
# (docs/search.md; migration c16e2a7f0b93). As PostgreSQL reads back what the migration made, so that the
# two compare equal. SQLite reads the text itself.
Index(
    "ix_complaints_search_grams",
    text(
        "ecoflow_bigrams(lower((((COALESCE(masked_text, ''::text) || ' '::text) || description) || ' '::text) "
        "|| address::text))"
    ),
    postgresql_using="gin",
    _table=Complaint.__table__,
).ddl_if(dialect="postgresql")
Index(
    "ix_complaints_search_trgm",
    text("((((COALESCE(masked_text, ''::text) || ' '::text) || description) || ' '::text) || address::text)"),
    postgresql_using="gin",
    postgresql_ops={"search": "gin_trgm_ops"},
    _table=Complaint.__table__,
).ddl_if(dialect="postgresql")


class ComplaintCategory(db.Model):
    __tablename__ = "complaint_categories"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class Clock(db.Model):
    """A deadline on a case: first contact, reply. Runs until its event happens."""

    __tablename__ = "clocks"
    __table_args__ = (
        # One running clock of each kind per case.
        Index(
            "uq_clocks_running",
            "complaint_id",
            "kind",
            unique=True,
            postgresql_where=text("stopped_at IS NULL"),
            sqlite_where=text("stopped_at IS NULL"),
        ),
        Index("ix_clocks_due", "due_at", postgresql_where=text("stopped_at IS NULL")),
        # What the sweep asks for: the running clocks whose next rung is due.
        Index(
            "ix_clocks_next_rung_at",
            "next_rung_at",
            postgresql_where=text("next_rung_at IS NOT NULL"),
            sqlite_where=text("next_rung_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The period as the norm set it when the clock started, e.g. 15 working_days.
    period_amount: Mapped[int]
    period_unit: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The action that stopped it: one of its own events (contact, reply) or the case ending otherwise.
    stopped_by: Mapped[str | None] = mapped_column(String(30))
    # The highest rung of the escalation ladder this clock has reached, the next one and when it
    # falls due (set only while the clock runs unpaused).
    rung: Mapped[str | None] = mapped_column(String(20))
    next_rung: Mapped[str | None] = mapped_column(String(20))
    next_rung_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 延期 on this clock, kept with it so that what may be asked or approved next is known from the
    # case as loaded: a request waiting for a decision, and how many were approved.
    # (A request that lapsed with its clock stays marked on the stopped clock: only a running clock's counts.)
    is_extension_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    approved_extensions: Mapped[int] = mapped_column(default=0, server_default="0")

    complaint: Mapped[Complaint] = relationship(back_populates="clocks")


class Extension(db.Model):
    """延期: requested by the officer, approved or refused by a supervisor (a leader from the second on)."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("complaint_id", "ordinal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id"))
    ordinal: Mapped[int]
    days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_approved: Mapped[bool | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Pause(db.Model):
    """挂起: a supervisor stops a clock while the bureau waits on something outside its control."""

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id"))
    reason: Mapped[str] = mapped_column(Text)
    paused_by_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counted_seconds: Mapped[int | None]


class CaseCounter(db.Model):
    """The last case number given out per bureau and day."""

    __tablename__ = "case_counters"

    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int]


class Event(db.Model):
    """留痕: one append-only, hash-chained record per action on a case."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("complaint_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    seq: Mapped[int]
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(64))  # username; None for the system
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The rule the hash was taken by (ecoflow.casework.trail.RULES): 1, the event alone; 2, also the
    # digest of the complaint's own record as the action left it (`case_digest`).
    rule: Mapped[int] = mapped_column(Integer, default=1)
    case_digest: Mapped[str | None] = mapped_column(String(64))

    complaint: Mapped[Complaint] = relationship()


class PersonalDataView(db.Model):
    """Who saw a complainant's unmasked details, when, and through what."""

    __tablename__ = "personal_data_views"
    # Whose views of a day (the unusual-views flag, the record filtered by officer).
    __table_args__ = (Index("ix_personal_data_views_officer", "officer_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(60))


@event.listens_for(Event, "before_update")
@event.listens_for(Event, "before_delete")
def _events_are_append_only(mapper, connection, target):
    raise RuntimeError("audit events are append-only")


class SavedSearch(db.Model):
    """A search an officer keeps under a name (案件查询): its parameters as the query string gives them."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("officer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
