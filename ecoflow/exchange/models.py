"""The outbox, the inbox, the record of refused messages and exposures received from peers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecoflow.extensions import db
from ecoflow.sqltypes import UTCDateTime


class OutboxMessage(db.Model):
    """A message to a peer, written in the transaction of the change that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "state", "recipient", "id"),)

    # The integer key orders messages: those about one case go out in this order.
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(8))
    case_no: Mapped[str | None] = mapped_column(String(24))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # queued (never tried or failing), delivered, dead (gave up; an operator may retry it).
    state: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[dict | None] = mapped_column(JSON)


class InboxMessage(db.Model):
    """A message applied here, kept so that a redelivery gets the same answer and changes nothing."""

    __tablename__ = "inbox_messages"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(8), index=True)
    recipient: Mapped[str] = mapped_column(String(8))
    case_no: Mapped[str | None] = mapped_column(String(24))
    body_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[dict | None] = mapped_column(JSON)


class ExchangeRejection(db.Model):
    """留痕 of refused messages: who claimed to send them, the first of them, why they were refused, and
    how many: one row per claimed sender, reason and minute, so that a flood of junk costs a counter."""

    __tablename__ = "exchange_rejections"
    __table_args__ = (Index("ux_exchange_rejections_minute", "sender_key", "error", "minute", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The minute counted in (None on rows kept before refusals were counted), and the claimed sender
    # as the key ("" for none), so that the row of a (sender, reason, minute) is found by a unique index.
    minute: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sender_key: Mapped[str] = mapped_column(String(40), default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    sender: Mapped[str | None] = mapped_column(String(40))
    recipient: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class ReceivedExposure(db.Model):
    """宣传曝光: a typical case a peer published, stored as it came (no personal data travels)."""

    __tablename__ = "received_exposures"
    __table_args__ = (Index("ix_received_exposures_case", "bureau_code", "case_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    bureau_code: Mapped[str] = mapped_column(String(8))
    case_no: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the publisher took it off its board (exposure.withdraw): then it is shown here no more.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
