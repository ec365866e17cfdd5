"""Requests filed through Open311: their token and the client and service they came with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.complaints.models import Complaint
from ecoflow.extensions import db
from ecoflow.sqltypes import UTCDateTime


class Open311Request(db.Model):
    """A complaint filed through Open311. Only these are listed by GET requests: a complaint that
    came by phone or letter was never published by its complainant."""

    __tablename__ = "open311_requests"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    service_code: Mapped[str] = mapped_column(String(40), index=True)

    complaint: Mapped[Complaint] = relationship(lazy="joined", innerjoin=True)


class Survey(db.Model):
    """满意度评价: the link in the 答复 SMS (`/s/<token>`) where the complainant answers the 回访 of a
    case whose 回访 the bureau does itself. Single-use, expiring, and only the newest of its case
    counts. The token is kept as its SHA-256: the SMS is the only place it is written out."""

    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint("used_at IS NULL OR used_at >= created_at", name="used_after_created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    complaint: Mapped[Complaint] = relationship(lazy="joined", innerjoin=True)
