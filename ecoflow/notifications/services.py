"""Notices: written to the inbox inside the unit of work that caused them, sent out after it."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.utils import import_string

from ecoflow.errors import NotFound
from ecoflow.extensions import db

from .models import Notification

log = logging.getLogger(__name__)


def notify(officer_ids, kind: str, message: str, case_no: str | None, now: datetime) -> list[Notification]:
    """One notice per officer (each once), in the current transaction."""
    notices = [
        Notification(officer_id=officer_id, kind=kind, case_no=case_no, message=message, created_at=now)
        for officer_id in dict.fromkeys(officer_ids)
    ]
    db.session.add_all(notices)
    return notices


def deliver_pending(now: datetime, limit: int = 500) -> int:
    """Hand unsent notices to the configured sender (SMS, e-mail); returns how many were sent.
    One that fails stays queued and does not hold up the others."""
    sender = import_string(current_app.config["NOTIFICATION_SENDER"])()
    pending = db.session.scalars(
        select(Notification).where(Notification.sent_at.is_(None)).order_by(Notification.id).limit(limit)
    ).all()
    sent = 0
    for notice in pending:
        try:
            sender.send(notice)
        except Exception:
            # The inbox has it anyway; the gateway gets it again next time.
            log.exception("Sending notice %s failed; it stays queued", notice.id)
            continue
        notice.sent_at = now
        sent += 1
    return sent


def inbox(officer_id: int, unread_only: bool, page: int, per_page: int) -> tuple[list[Notification], int, int]:
    """A page of the officer's notices, newest first, the total and the unread count."""
    query = select(Notification).where(Notification.officer_id == officer_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    unread = unread_count(officer_id)
    items = db.session.scalars(
        query.order_by(Notification.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return items, total, unread


def unread_count(officer_id: int) -> int:
    """How many of the officer's notices are unread."""
    return db.session.scalar(
        select(func.count()).where(Notification.officer_id == officer_id, Notification.read_at.is_(None))
    )


def unread_by_kind(officer_id: int) -> dict[str, int]:
    """How many of the officer's notices are unread, by kind."""
    rows = db.session.execute(
        select(Notification.kind, func.count())
        .where(Notification.officer_id == officer_id, Notification.read_at.is_(None))
        .group_by(Notification.kind)
        .order_by(Notification.kind)
    )
    return dict(rows.all())


def mark_read(officer_id: int, notification_id: int | None, now: datetime, kind: str | None = None) -> int:
    """Mark one notice (or, with None, all, or all of one kind) of the officer read; returns how many changed."""
    query = update(Notification).where(Notification.officer_id == officer_id, Notification.read_at.is_(None))
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if notification_id is not None:
        exists = db.session.scalar(
            select(Notification.id).where(Notification.id == notification_id, Notification.officer_id == officer_id)
        )
        if exists is None:
            raise NotFound(f"没有编号为 {notification_id} 的通知。", code="unknown_notification")
        query = query.where(Notification.id == notification_id)
    return db.session.execute(query.values(read_at=now)).rowcount
