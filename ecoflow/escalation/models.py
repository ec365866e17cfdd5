"""The rungs each clock reached, supervision records, whistles and their summoned parties."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.complaints.models import Complaint
from ecoflow.extensions import db
from ecoflow.officers.models import Unit
from ecoflow.sqltypes import UTCDateTime


class ClockRung(db.Model):
    """一次一留痕: a rung fired on a clock. The unique key makes it fire once, whatever races."""

    __tablename__ = "clock_rungs"
    __table_args__ = (UniqueConstraint("clock_id", "rung"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id"))
    rung: Mapped[str] = mapped_column(String(20))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the clock's due time when it fired


class Supervision(db.Model):
    """督办: a formal push on a late case, opened by the ladder or by a supervisor."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("clocks.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))  # None: the ladder
    note: Mapped[str] = mapped_column(Text)


class Whistle(db.Model):
    """吹哨: a summons to units (or bureaus) who must report in by a deadline."""

    __tablename__ = "whistles"
    __table_args__ = (
        Index(
            "ix_whistles_escalate_at",
            "escalate_at",
            postgresql_where=text("escalate_at IS NOT NULL"),
            sqlite_where=text("escalate_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("clocks.id"))
    reason: Mapped[str] = mapped_column(Text)
    blown_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blown_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))  # None: the ladder
    # The level of the escalation list reached (0: the first summons).
    level: Mapped[int] = mapped_column(default=0)
    # When the parties not yet reported in are escalated; None once all reported or closed.
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    joint_action: Mapped[str | None] = mapped_column(Text)
    # A whistle a peer bureau blew at this one (over the exchange): its 报到 goes back there.
    peer_bureau: Mapped[str | None] = mapped_column(String(8))
    peer_whistle_id: Mapped[int | None]

    complaint: Mapped[Complaint] = relationship(lazy="joined")
    parties: Mapped[list[WhistleParty]] = relationship(
        lazy="selectin", order_by="WhistleParty.id", back_populates="whistle"
    )


class WhistleParty(db.Model):
    """One party summoned by a whistle, and its 报到."""

    __tablename__ = "whistle_parties"
    __table_args__ = (UniqueConstraint("whistle_id", "party", "bureau_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    whistle_id: Mapped[int] = mapped_column(ForeignKey("whistles.id"), index=True)
    party: Mapped[str] = mapped_column(String(30))  # a party name of workflows/ladder.yaml
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    level: Mapped[int]
    summoned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    report_by: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    who_will_act: Mapped[str | None] = mapped_column(Text)

    whistle: Mapped[Whistle] = relationship(back_populates="parties")
    unit: Mapped[Unit | None] = relationship(lazy="joined")
