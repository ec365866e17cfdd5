"""Requests filed through Open311: their token and the client and service they came with."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.complaints.models import Complaint
from ecoflow.extensions import db


class Open311Request(db.Model):
    """A complaint filed through Open311. Only these are listed by GET requests: a complaint that
    came by phone or letter was never published by its complainant."""

    __tablename__ = "open311_requests"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    service_code: Mapped[str] = mapped_column(String(40), index=True)

    complaint: Mapped[Complaint] = relationship(lazy="joined", innerjoin=True)
