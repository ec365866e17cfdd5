"""A typical case as the public sees it: only text scrubbed of personal data is stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecoflow.extensions import db
from ecoflow.sqltypes import UTCDateTime


class Exposure(db.Model):
    __tablename__ = "exposures"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    # What the board shows, every field scrubbed when published.
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    handling: Mapped[str] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(40))
    categories: Mapped[str] = mapped_column(String(200))  # labels, 、-separated
    received_month: Mapped[str] = mapped_column(String(7))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    # The photos published with it: [{"attachment", "sha256", "content_type"}] of their copies without
    # metadata (never the originals, never the complainant's own), in the supervisor's order.
    photos: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
