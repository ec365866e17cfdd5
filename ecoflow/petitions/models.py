"""信访 and leadership: the written notices issued on a formal petition and their numbers; leaders'
instructions (领导批示)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ecoflow.extensions import db
from ecoflow.sqltypes import UTCDateTime


class PetitionDocument(db.Model):
    """One notice as issued: its number, the date, the action's event, and what it says (`fields`, as
    written; the page clears other people's personal data when it prints them)."""

    __tablename__ = "petition_documents"
    __table_args__ = (
        UniqueConstraint("bureau_code", "kind", "year", "serial"),
        Index("ix_petition_documents_complaint", "complaint_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    serial: Mapped[int]
    number: Mapped[str] = mapped_column(String(60))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The event of the action that issued it: its seq on the case's hash chain.
    event_seq: Mapped[int]
    fields: Mapped[dict] = mapped_column(JSON)


class DocumentCounter(db.Model):
    """The last number given out per bureau, kind and year."""

    __tablename__ = "document_counters"

    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]


class Instruction(db.Model):
    """领导批示: who instructed what on a case, by when it must be reported back (its clock
    `instruction_report`), and the 报结 that closes it."""

    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    leader_name: Mapped[str] = mapped_column(String(50))
    leader_title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    instructed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    report_days: Mapped[int]
    # The leader's own account, when they instructed in EcoFlow: the 报结 goes to their inbox; an
    # instruction registered at intake goes to the bureau's leaders.
    instructed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("clocks.id"))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    result: Mapped[str | None] = mapped_column(Text)


class Reception(db.Model):
    """接访日: a leader of the bureau receives petitioners on a published day, at a place."""

    __tablename__ = "receptions"
    __table_args__ = (Index("ix_receptions_bureau_starts", "bureau_code", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    leader_name: Mapped[str] = mapped_column(String(50))
    leader_title: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    published_by_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReceptionVisitor(db.Model):
    """One visitor received on a reception day: who (personal data), what about, the answer given on the
    spot, and the case it belongs to (an existing one, or the `visit` case registered from it)."""

    __tablename__ = "reception_visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    reception_id: Mapped[int] = mapped_column(ForeignKey("receptions.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    registered: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
