"""An attachment: a file of a case, kept content-addressed in the storage, described here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.complaints.models import Complaint
from ecoflow.extensions import db
from ecoflow.officers.models import Officer
from ecoflow.sqltypes import UTCDateTime


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("size > 0", name="attachment_not_empty"),
        CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_reason IS NULL)", name="withdrawn_with_reason"),
        Index("ix_attachments_complaint", "complaint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    # The file in the storage: its SHA-256 names it.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))  # as sniffed from the content
    kind: Mapped[str] = mapped_column(String(10))  # photo video audio document (workflows/evidence.yaml)
    filename: Mapped[str] = mapped_column(String(120))  # as sent, made safe; only ever a download's name
    caption: Mapped[str | None] = mapped_column(String(200))
    # What the complainant sent: personal data, seen by whoever sees the complainant unmasked.
    is_from_complainant: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))  # None: a citizen (Open311)
    # The event of the action it belongs to (its seq on the case's trail); None until an action names it.
    event_seq: Mapped[int | None]
    # Photos: a thumbnail and a full-size copy, both re-encoded without EXIF (no GPS), for anyone but the bureau.
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    stripped_sha256: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(String(500))

    complaint: Mapped[Complaint] = relationship()
    created_by: Mapped[Officer | None] = relationship(foreign_keys=[created_by_id], viewonly=True)
