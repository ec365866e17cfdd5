"""Systems that file complaints by themselves: an Open311 client, a 12345 or 12369 hotline centre."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from sqlalchemy import ForeignKey, String, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.extensions import db
from ecoflow.officers.models import Officer
from ecoflow.sqltypes import UTCDateTime
from ecoflow.timeutil import utcnow


class ChannelClient(db.Model):
    """A client system with its own key, acting as a system account (an officer with the intake
    role in one bureau and no password) so that everything it files is on the record as its own."""

    __tablename__ = "channel_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    # SHA-256 of the key: the key itself is shown once, when it is created.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A hotline centre's: where its 回单 go (None: it gets none), and the secret shared with it that
    # signs them and its own calls (docs/centres.md). Kept as it is: signing needs it, not a hash.
    callback_url: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(64))
    # A centre that approves or refuses the bureau's extension requests itself (as Beijing's 12345
    # does): its decision comes in (POST .../extension-decision) and the bureau's supervisors take none.
    decides_extensions: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    officer: Mapped[Officer] = relationship(lazy="joined")


class CentreSignature(db.Model):
    """A signature a centre's call came with, kept while its timestamp is fresh: each is accepted once."""

    __tablename__ = "centre_signatures"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# While a list of cases is served (`centres_remembered`), each channel and bureau's centre is read once.
_remembered: ContextVar[dict | None] = ContextVar("callback_centres", default=None)


@contextmanager
def centres_remembered() -> Iterator[None]:
    """Within the block, callback_centre reads each channel and bureau's centre once (a list of cases
    offering the 回访 or the extension decision would otherwise read it once per case)."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def callback_centre(channel: str, bureau_code: str, order_no: str | None) -> ChannelClient | None:
    """The active centre account of this channel and bureau that has a callback URL (it hears back
    and does its own 回访), for a case that carries the centre's order number."""
    if order_no is None:
        return None
    remembered = _remembered.get()
    if remembered is not None and (channel, bureau_code) in remembered:
        return remembered[channel, bureau_code]
    centre = db.session.scalar(
        select(ChannelClient)
        .where(ChannelClient.channel == channel, ChannelClient.bureau_code == bureau_code)
        .where(ChannelClient.is_active.is_(True), ChannelClient.callback_url.is_not(None))
        .order_by(ChannelClient.id)
        .limit(1)
    )
    if remembered is not None:
        remembered[channel, bureau_code] = centre
    return centre
