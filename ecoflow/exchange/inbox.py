"""The receiving side: check an envelope (shape, recipient, sender, signature, freshness, replay),
apply it once through the handler registered for its type, answer a redelivery as before."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ecoflow.errors import ApiError, Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized
from ecoflow.extensions import db, limiter
from ecoflow.transaction import unit_of_work

from . import envelope as envelopes
from .models import ExchangeRejection, InboxMessage
from .trust import get_trust

log = logging.getLogger(__name__)

# Applies an incoming message (flushes, never commits) and answers what the sender learns of it.
Handler = Callable[[dict, datetime], dict | None]
_HANDLERS = "ecoflow.inbox_handlers"


def install_handlers(app: Flask, handlers: Mapping[str, Handler]):
    """What each message type does here (exchange/handlers.py, above the domains), given by create_app."""
    app.extensions[_HANDLERS] = handlers


def _handlers() -> Mapping[str, Handler]:
    return current_app.extensions[_HANDLERS]


def _check(envelope, now: datetime):
    """Raises the reason to refuse `envelope`, in the order a forger would meet them."""
    if not isinstance(envelope, dict):
        raise Invalid("报文必须是 JSON 对象。", code="invalid_envelope")
    faults = envelopes.problems("envelope", envelope)
    if faults:
        raise Invalid("报文格式不正确。", {"problems": faults[:20]}, code="invalid_envelope")
    trust = get_trust()
    if not trust.is_local(envelope["to"]):
        raise Forbidden(f"本系统不代表 {envelope['to']}，报文不是发给本单位的。", code="wrong_recipient")
    if envelope["from"] not in trust.peers or envelope["from"] == envelope["to"]:
        raise Forbidden(f"发送方 {envelope['from']} 不在可信单位名单中。", code="unknown_sender")
    if not trust.verify(envelope):
        raise Unauthorized("报文签名无效（内容被改动或密钥不符）。", code="bad_signature")
    skew = timedelta(seconds=current_app.config["EXCHANGE_MAX_CLOCK_SKEW_SECONDS"])
    sent_at, created_at = (datetime.fromisoformat(envelope[k]) for k in ("sent_at", "created_at"))
    if abs(now - sent_at) > skew or created_at > now + skew or created_at > sent_at + skew:
        raise Unauthorized("报文时间与当前时间相差过大。", {"sent_at": envelope["sent_at"]}, code="stale_message")
    if envelope["type"] not in _handlers():  # e.g. an answer, which only ever comes back in a result
        raise Invalid(f"本单位不受理 {envelope['type']} 类报文。", code="unsupported_type")
    faults = envelopes.problems(envelope["type"], envelope["payload"])
    if faults:
        raise Invalid("报文内容不符合其类型的格式。", {"problems": faults[:20]}, code="invalid_message")


# What a refused envelope claims is anyone's junk: control characters (NUL, which PostgreSQL refuses)
# and lone surrogates (which UTF-8 cannot hold) are replaced, so that it can be kept and answered.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _cleaned(value: str) -> str:
    return _UNSTORABLE.sub("\ufffd", value)


def _refusal(envelope, exc: ApiError, now: datetime, remote_addr: str | None) -> dict:
    """What the record keeps of a refused envelope (the first of its sender, reason and minute)."""
    fields = envelope if isinstance(envelope, dict) else {}

    def text(key, size):
        value = fields.get(key)
        return _cleaned(str(value)[:size]) if value is not None else None

    sender = text("from", 40)
    return {
        "rejected_at": now, "minute": now.replace(second=0, microsecond=0), "sender": sender,
        "sender_key": sender or "", "recipient": text("to", 40), "message_id": text("id", 64),
        "type": text("type", 40), "error": exc.code, "message": exc.message,
        "remote_addr": (remote_addr or "")[:64] or None, "count": 0,
    }  # fmt: skip


def _keep_refusals(refusals: list[dict]):
    """The batch's refusals on the record: one row per (claimed sender, reason, minute), its count
    raised by how many came; one log line for each (in the unit of work: what they changed is rolled back)."""
    tally: dict[tuple, dict] = {}
    for refusal in refusals:
        row = tally.setdefault((refusal["sender_key"], refusal["error"], refusal["minute"]), refusal)
        row["count"] += 1
    dialect = db.session.get_bind().dialect.name
    for row in tally.values():
        statement = (postgresql if dialect == "postgresql" else sqlite).insert(ExchangeRejection).values(**row)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["sender_key", "error", "minute"],
            set_={"count": ExchangeRejection.count + statement.excluded.count},
        ))  # fmt: skip
        log.warning("Exchange messages refused (%s): %s from %s, first %s", row["error"], row["count"],
                    row["sender"], row["message_id"])  # fmt: skip


def _seen(envelope, digest: str, known: InboxMessage | None) -> dict | None:
    """The stored result of a message applied before; a different body under its id is a replay."""
    if known is None:
        return None
    if known.body_hash != digest:
        raise Conflict("报文编号已使用过，内容却不同（重放）。", {"id": envelope["id"]}, code="replayed_message")
    return {"id": known.message_id, "status": "duplicate", "answer": known.answer}


def _apply(envelope, now: datetime, known: InboxMessage | None) -> dict:
    """Apply one checked envelope inside a savepoint: {"id", "status", "answer"}."""
    digest = envelopes.body_hash(envelope)
    try:
        with db.session.begin_nested():
            seen = _seen(envelope, digest, known)
            if seen:
                return seen
            answer = _handlers()[envelope["type"]](envelope, now)
            db.session.execute(insert(InboxMessage).values(
                message_id=envelope["id"], type=envelope["type"], sender=envelope["from"],
                recipient=envelope["to"], case_no=envelope["case"], body_hash=digest, received_at=now, answer=answer,
            ))  # fmt: skip
    except IntegrityError:
        # The same message applied at the same moment by another worker: that one stands.
        seen = _seen(envelope, digest, db.session.get(InboxMessage, envelope["id"]))
        if seen is None:
            raise
        return seen
    return {"id": envelope["id"], "status": "applied", "answer": answer}


class ApplyFailed(ApiError):
    status, code = 500, "apply_failed"


def _apply_alone(envelope, now: datetime, known: InboxMessage | None) -> dict:
    """`_apply`, an unexpected failure refusing this message only (its savepoint is rolled back), so
    that one message this bureau cannot apply does not fail, again and again, the batch it came in."""
    try:
        return _apply(envelope, now, known)
    except ApiError:
        raise
    except Exception:
        log.exception("Exchange message %s (%s) from %s failed", envelope["id"], envelope["type"], envelope["from"])
        raise ApplyFailed("本单位处理该报文时出错，已记录，请稍后重试。") from None


# Refusals met before a signature is verified: what anyone on the network can send.
UNVERIFIED = frozenset({"invalid_envelope", "wrong_recipient", "unknown_sender", "bad_signature"})
_WINDOW_SECONDS = 60


def check_address(remote_addr: str | None):
    """Before a request's body is read: 429 when its address sent more unverified envelopes in the last
    minute than EXCHANGE_REFUSALS_PER_MINUTE and none that verified in the last hour (a peer's address is
    never slowed). Counted in the rate limiter's store, shared by the workers when it is Redis."""
    storage = limiter.storage
    if storage is None or not remote_addr:
        return
    if storage.get(f"exchange-verified/{remote_addr}"):
        return
    allowed = current_app.config["EXCHANGE_REFUSALS_PER_MINUTE"]
    if storage.get(f"exchange-refused/{remote_addr}") >= allowed:
        raise TooManyRequests("未通过验证的报文过多，请稍后再试。", {"per_minute": allowed}, code="too_many_refusals")


def _count_traffic(remote_addr: str | None, verified: int, unverified: int):
    storage = limiter.storage
    if storage is None or not remote_addr or remote_addr == "local":
        return
    if verified:
        storage.incr(f"exchange-verified/{remote_addr}", 3600, verified)
    if unverified:
        storage.incr(f"exchange-refused/{remote_addr}", _WINDOW_SECONDS, unverified)


def receive(envelope, now: datetime, remote_addr: str | None = None) -> dict:
    """Apply one envelope and commit; raises (after recording why) when it is refused."""
    (result,) = receive_batch([envelope], now, remote_addr, raise_refusal=True)
    return result


def _refused(envelope, exc: ApiError) -> dict:
    # The id as the sender will know it; junk there (a list, a lone surrogate) must not break the answer.
    message_id = envelope.get("id") if isinstance(envelope, dict) else None
    message_id = _cleaned(message_id) if isinstance(message_id, str) else None
    return {"id": message_id, "status": "rejected", "error": exc.code, "message": exc.message, "details": exc.details}


def _case_key(envelope) -> tuple[str, str] | None:
    """(sender, case) as the envelope claims them; None where either is missing or not text, as in a
    malformed envelope (a list or object there must not break the batch)."""
    if not isinstance(envelope, dict):
        return None
    key = (envelope.get("from"), envelope.get("case"))
    return key if all(isinstance(part, str) and part for part in key) else None


def receive_batch(batch: list, now: datetime, remote_addr: str | None = None, raise_refusal=False) -> list[dict]:
    """Each envelope in order, each in its own savepoint, one commit for the batch before it is
    answered (a batch cut short is redelivered whole, and what was applied is answered as before).
    After one about a case is refused, the later ones about that case wait (`deferred`), so that
    messages about one case are applied in order. Signatures and schemas are checked first, before
    the database is touched, so that workers check in parallel."""
    checked = []
    for envelope in batch:
        try:
            _check(envelope, now)
        except ApiError as exc:
            checked.append(exc)
        else:
            checked.append(None)
    ids = [e["id"] for e, fault in zip(batch, checked, strict=True) if fault is None]
    unverified = sum(1 for fault in checked if fault is not None and fault.code in UNVERIFIED)
    _count_traffic(remote_addr, len(batch) - unverified, unverified)
    results, failed, refusal, refusals = [], set(), None, []
    with unit_of_work():
        known = {
            m.message_id: m for m in db.session.scalars(select(InboxMessage).where(InboxMessage.message_id.in_(ids)))
        }
        for envelope, fault in zip(batch, checked, strict=True):
            key = _case_key(envelope)
            if key and key in failed:
                results.append({"id": envelope.get("id"), "status": "deferred"})
                continue
            try:
                if fault:
                    raise fault
                results.append(_apply_alone(envelope, now, known.get(envelope["id"])))
            except ApiError as exc:
                if key:
                    failed.add(key)
                refusals.append(_refusal(envelope, exc, now, remote_addr))  # on the record, raised or not
                if raise_refusal:
                    refusal = exc
                    break
                results.append(_refused(envelope, exc))
        _keep_refusals(refusals)
    if refusal is not None:
        raise refusal
    return results
