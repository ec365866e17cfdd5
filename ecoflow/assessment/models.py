"""Assessment facts (one row per countable item, kept in step with the case) and hotspot alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ecoflow.extensions import db
from ecoflow.sqltypes import UTCDateTime


class Fact(db.Model):
    """One countable item of a measure: a clock (响应, 答复, 签收), a follow-up (回访), an answer, a
    reopening, a party summoned by a whistle, a lead's acknowledgement.

    Written in the same flush as the action that changes it (see facts.py), so the figures never
    lag the cases. `counted_at` is when its outcome is (or will be) known: a clock met counts when
    it stopped, one that ran out at its due time; NULL while it cannot count (a paused clock, a clock
    cancelled in time). `is_ok` is the outcome: met, resolved, reported in time; NULL while pending,
    which counts as not met once `counted_at` has passed."""

    __tablename__ = "assessment_facts"
    __table_args__ = (
        UniqueConstraint("measure", "source_id"),
        # A month's items of a measure in the order they counted: the cases behind a figure, latest
        # first, and the items that count only later than now (pending, due ahead).
        Index("ix_assessment_facts_month", "month", "measure", "counted_at"),
        Index("ix_assessment_facts_officer", "officer_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(20))
    # The clock, event or whistle party the item is.
    source_id: Mapped[int] = mapped_column(Integer)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # YYYYMM of counted_at in Asia/Shanghai: the month the item counts in.
    month: Mapped[int | None] = mapped_column(Integer)
    is_ok: Mapped[bool | None]
    level: Mapped[str | None] = mapped_column(String(20))  # the satisfaction of a follow-up
    seconds: Mapped[int | None] = mapped_column(Integer)  # time to report in, to acknowledge a lead
    # Who and what it is counted for: the case's bureau, unit, officer, district and channel
    # (for a summoned party, the party's bureau and unit).
    bureau_code: Mapped[str] = mapped_column(String(8))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    officer_id: Mapped[int | None] = mapped_column(Integer)
    district: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    # The case's categories as bits, in the order of workflows/catalog.yaml (multi-label).
    categories: Mapped[int] = mapped_column(Integer, default=0)


# The dimensions the monthly counts are kept by (not the officer: figures of or by officer add up the
# facts themselves); "none" is 0 or "" there, so that the key is unique.
ROLLUP_KEY = ("month", "bureau_code", "unit_id", "district", "channel", "categories", "measure", "level")


class MonthlyCount(db.Model):
    """The facts counted per month and dimensions, kept in step with them (+new −old) by the same
    listener in the same transaction: what the dashboard and the report add up."""

    __tablename__ = "assessment_monthly"
    __table_args__ = (UniqueConstraint(*ROLLUP_KEY),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(Integer)
    bureau_code: Mapped[str] = mapped_column(String(8))
    unit_id: Mapped[int] = mapped_column(Integer)
    district: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    categories: Mapped[int] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)  # items
    ok: Mapped[int] = mapped_column(Integer)  # items met
    seconds: Mapped[int] = mapped_column(BigInteger)  # their timed seconds in all
    timed: Mapped[int] = mapped_column(Integer)  # items with a time


class HotspotAlert(db.Model):
    """A cluster the coordination office was alerted to: once per cluster and window."""

    __tablename__ = "hotspot_alerts"
    __table_args__ = (UniqueConstraint("area", "category", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cases: Mapped[int]
    bureaus: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
