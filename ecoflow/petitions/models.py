"""信访文书: the written notices issued on a formal petition, and their numbers per bureau, kind and year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
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
