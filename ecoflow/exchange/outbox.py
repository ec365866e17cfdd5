"""The transactional outbox: messages written with the change that caused them, delivered by the
scheduler after the commit, retried with exponential backoff and jitter, dead-lettered at last.
Three kinds of recipient share it: peer bureaus (signed envelopes to their exchange endpoint, in
batches), hotline centres (each 回单 POSTed on its own to the centre's callback URL, signed with
the centre's secret, see docs/centres.md) and the SMS gateway (each SMS to a complainant on its own)."""

from __future__ import annotations

import json
import logging
import random
import uuid
import zlib
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, literal_column, or_, select, update

from ecoflow.errors import Conflict, NotFound
from ecoflow.extensions import db
from ecoflow.intake.models import ChannelClient
from ecoflow.norm.current import get_norm
from ecoflow.notifications.services import notify
from ecoflow.officers.models import Officer, RoleGrant
from ecoflow.rest import is_printable
from ecoflow.transaction import unit_of_work

from . import envelope as envelopes
from . import webhook
from .models import ExchangeRejection, InboxMessage, OutboxMessage, ReceivedExposure
from .transport import TransportError, send
from .trust import get_trust

log = logging.getLogger(__name__)


def enqueue(kind: str, sender: str, recipient: str, case_no: str | None, payload: dict, now: datetime):
    """Queue a message in the current transaction; it leaves only if that transaction commits."""
    faults = envelopes.problems(kind, payload)
    if faults:  # a fault of ours, not of the peer: refuse to queue what the peer would refuse
        raise ValueError(f"{kind} payload does not match its schema: {faults}")
    if recipient not in get_trust().peers:
        raise Conflict(f"{recipient} 不在可信单位名单中，无法发送。", code="unknown_peer")
    message = OutboxMessage(
        message_id=envelopes.new_envelope(kind, sender, recipient, case_no, payload, now)["id"],
        type=kind, sender=sender, recipient=recipient, case_no=case_no, payload=payload,
        created_at=now, state="queued", attempts=0, next_attempt_at=now,
    )  # fmt: skip
    db.session.add(message)
    return message


# A centre is the recipient "@<its account id>": no bureau code starts with "@". SMS to complainants go
# to the recipient "sms" (the gateway).
CENTRE = "@"
SMS = "sms"


def centre_recipient(centre: ChannelClient) -> str:
    return f"{CENTRE}{centre.id}"


def _centre(recipient: str) -> ChannelClient | None:
    """The centre account a recipient names, or None when it names a peer bureau."""
    if not recipient.startswith(CENTRE):
        return None
    return db.session.get(ChannelClient, int(recipient[len(CENTRE) :]))


def enqueue_callback(sender: str, centre: ChannelClient, case_no: str, event: str, payload: dict, now: datetime):
    """Queue a 回单 to a hotline centre in the current transaction; its body (with its idempotency key,
    the same on every attempt) is fixed now, only its signature is made at each attempt."""
    message_id = str(uuid.uuid4())
    message = OutboxMessage(
        message_id=message_id, type=f"centre.{event}", sender=sender, recipient=centre_recipient(centre),
        case_no=case_no, payload={**payload, "event": event, "at": now.isoformat(), "idempotency_key": message_id},
        created_at=now, state="queued", attempts=0, next_attempt_at=now,
    )  # fmt: skip
    db.session.add(message)
    return message


def enqueue_sms(sender: str, case_no: str, to: str, text: str, kind: str, now: datetime):
    """Queue an SMS to a complainant in the current transaction (to SMS_GATEWAY_URL after the commit)."""
    message = OutboxMessage(
        message_id=str(uuid.uuid4()), type=f"sms.{kind}", sender=sender, recipient=SMS, case_no=case_no,
        payload={"to": to, "text": text}, created_at=now, state="queued", attempts=0, next_attempt_at=now,
    )  # fmt: skip
    db.session.add(message)
    return message


def _what(message: OutboxMessage) -> str:
    """The message as an officer's notice names it."""
    if message.recipient == SMS:
        return "发给诉求人的短信"
    centre = _centre(message.recipient)
    if centre is None:
        return f"发往 {message.recipient} 的{message.type}报文"
    return f"发往{centre.name}的回单"


def _envelope(message: OutboxMessage, now: datetime) -> dict:
    """The message signed for this attempt (sent now)."""
    return get_trust().sign({
        "v": envelopes.VERSION, "id": message.message_id, "type": message.type, "from": message.sender,
        "to": message.recipient, "created_at": message.created_at.isoformat(), "sent_at": now.isoformat(),
        "case": message.case_no, "payload": message.payload,
    })  # fmt: skip


def _backoff(attempts: int) -> timedelta:
    """Exponential in the attempts made, capped, with jitter so that retries do not march in step."""
    config = current_app.config
    delay = min(config["EXCHANGE_BACKOFF_MAX_SECONDS"], config["EXCHANGE_BACKOFF_SECONDS"] * 2 ** (attempts - 1))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def _due_batch(recipient: str, now: datetime, limit: int) -> list[OutboxMessage]:
    """The next messages to `recipient` that are due, none behind an earlier one of its case still waiting
    or dead (a dead one holds its case back until an operator retries it: a result never overtakes its ack)."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "queued", OutboxMessage.recipient == recipient)
        .where(OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        # PostgreSQL: wait for a deliverer claiming these rows, then see them claimed. Not SKIP LOCKED:
        # skipping a case's first message while it is being claimed would let its second one overtake it.
        .with_for_update()
    ).all()
    waiting = {
        (sender, case_no): first
        for sender, case_no, first in db.session.execute(
            select(OutboxMessage.sender, OutboxMessage.case_no, func.min(OutboxMessage.id))
            .where(OutboxMessage.recipient == recipient, OutboxMessage.case_no.is_not(None))
            .where(or_(OutboxMessage.state == "dead",
                       and_(OutboxMessage.state == "queued", OutboxMessage.next_attempt_at > now)))
            .group_by(OutboxMessage.sender, OutboxMessage.case_no)
        )
    }  # fmt: skip
    return [m for m in rows if waiting.get((m.sender, m.case_no), m.id + 1) > m.id]


def _failed(message: OutboxMessage, error: str, now: datetime):
    message.attempts += 1
    message.last_error = error[:2000]
    if message.attempts >= current_app.config["EXCHANGE_MAX_ATTEMPTS"]:
        message.state = "dead"
        operators = db.session.scalars(
            select(RoleGrant.officer_id).join(Officer).where(
                RoleGrant.role.in_(get_norm().access["operates_exchange"]), RoleGrant.bureau_code == message.sender,
                Officer.is_active.is_(True),
            ).distinct()
        ).all()  # fmt: skip
        notify(operators, "exchange_dead",
               f"{_what(message)}（{message.case_no or '无案件'}）"
               f"{message.attempts} 次投递失败，已转入死信，请处理后重试：{message.last_error}",
               message.case_no, now)  # fmt: skip
        log.error("Exchange message %s to %s dead after %s attempts: %s",
                  message.message_id, message.recipient, message.attempts, error)  # fmt: skip
    else:
        message.next_attempt_at = now + _backoff(message.attempts)


def _lanes(batch: list[OutboxMessage], count: int) -> list[list[int]]:
    """Positions in `batch` split into up to `count` lanes, all messages about one case in one lane
    and in their order, so that lanes may be sent at the same time."""
    lanes = [[] for _ in range(count)]
    for position, message in enumerate(batch):
        key = f"{message.sender}/{message.case_no}" if message.case_no else message.message_id
        lanes[zlib.crc32(key.encode()) % count].append(position)
    return [lane for lane in lanes if lane]


def _peer_post(recipient: str, now: datetime):
    """How a lane of envelopes reaches a peer bureau: one POST of them all."""
    peer = get_trust().peers[recipient]
    timeout = current_app.config["EXCHANGE_TIMEOUT_SECONDS"]

    def post(lane: list[dict]) -> list[dict]:
        try:
            return send(peer, lane, now, timeout)
        except TransportError as exc:
            log.warning("Exchange peer %s unreachable: %s", recipient, exc)
            return [{"id": item["id"], "status": "unreachable", "message": str(exc)} for item in lane]

    return post


def _one_by_one(name: str, send_one):
    """How a lane reaches a centre or the SMS gateway: one POST each, in order; after a failure the
    rest of the lane waits (`deferred`), so that nothing overtakes an earlier message of its case."""

    def post(lane: list[dict]) -> list[dict]:
        results = []
        for item in lane:
            if results and results[-1]["status"] != "applied":
                results.append({"id": item["id"], "status": "deferred"})
                continue
            try:
                send_one(item)
                results.append({"id": item["id"], "status": "applied"})
            except webhook.WebhookError as exc:
                log.warning("%s did not take %s: %s", name, item["id"], exc)
                results.append({"id": item["id"], "status": "unreachable", "message": str(exc)})
        return results

    return post


def _centre_post(centre: ChannelClient, now: datetime):
    """Each 回单 signed with the centre's secret, to its callback URL."""
    timeout = current_app.config["EXCHANGE_TIMEOUT_SECONDS"]
    url, secret, is_open = centre.callback_url, centre.secret, centre.is_active

    def send_one(item: dict):
        if not (is_open and url and secret):
            raise webhook.WebhookError("the centre's account is revoked or has no callback URL")
        webhook.post(url, item["body"], webhook.signed_headers(secret, int(now.timestamp()), item["body"]), timeout)

    return _one_by_one(f"Centre {centre.name}", send_one)


def _sms_post():
    """Each SMS as JSON `{to, text}` to SMS_GATEWAY_URL; without one, written to the log (the phone
    masked) as the officers' notices are."""
    url, timeout = current_app.config["SMS_GATEWAY_URL"], current_app.config["EXCHANGE_TIMEOUT_SECONDS"]

    def send_one(item: dict):
        if url:
            webhook.post(url, item["body"], {"Content-Type": "application/json"}, timeout)
        else:
            sms = json.loads(item["body"])
            log.info("SMS to %s****%s: %s", sms["to"][:3], sms["to"][-4:], sms["text"])

    return _one_by_one("The SMS gateway", send_one)


def _send_lanes(post, items: list[dict], lanes: list[list[int]]) -> list[dict]:
    """Each lane through `post`, the lanes in parallel; the result of each item, in order."""
    if len(lanes) == 1:
        answers = [post([items[i] for i in lanes[0]])]
    else:
        with ThreadPoolExecutor(len(lanes)) as pool:
            answers = list(pool.map(lambda lane: post([items[i] for i in lane]), lanes))
    results = [None] * len(items)
    for lane, answer in zip(lanes, answers, strict=True):
        for position, result in zip(lane, answer, strict=True):
            results[position] = result
    return results


def _checked(result, message_id: str) -> dict:
    """The peer's result for one message, or `misanswered` (a failed attempt) where it is not an
    object naming that message: a result counts only for the message whose id it names."""
    if not isinstance(result, dict):
        return {"status": "misanswered", "message": f"the peer's result is not an object: {str(result)[:200]}"}
    if result.get("id") != message_id:
        return {"status": "misanswered", "message": f"the peer answered for {result.get('id')}"}
    return result


def _deliver_batch(recipient: str, now: datetime) -> tuple[int, bool]:
    """Send the next due messages to one peer; (how many were delivered, whether to go on)."""
    config = current_app.config
    local = get_trust().is_local(recipient)
    concurrency = 1 if local else config["EXCHANGE_CONCURRENCY"]
    limit = config["EXCHANGE_BATCH"] * concurrency
    with unit_of_work():  # the claim; no transaction is held (SQLite: no write lock) while the peer is asked
        batch = _due_batch(recipient, now, limit)
        if not batch:
            return 0, False
        ids = [m.id for m in batch]
        centre = _centre(recipient)
        if centre is None and recipient != SMS:
            items, post = [_envelope(m, now) for m in batch], _peer_post(recipient, now)
        else:
            items = [{"id": m.message_id, "body": json.dumps(m.payload, ensure_ascii=False).encode()} for m in batch]
            post = _sms_post() if recipient == SMS else _centre_post(centre, now)
        lanes = _lanes(batch, concurrency)
        # Not due for another deliverer (nor are the later messages of their cases) while they are out;
        # should this process die, they are due again when it lapses, and the inbox answers a
        # redelivery as before.
        claimed_until = now + timedelta(seconds=3 * config["EXCHANGE_TIMEOUT_SECONDS"])
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(next_attempt_at=claimed_until))
    answers = _send_lanes(post, items, lanes)
    results = [_checked(answer, item["id"]) for answer, item in zip(answers, items, strict=True)]
    with unit_of_work():  # what the peer answered
        messages = {m.id: m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
        delivered = []
        for message_id, result in zip(ids, results, strict=True):
            message = messages[message_id]
            if message.state != "queued":
                continue  # settled meanwhile (an operator, another deliverer)
            if result.get("status") in ("applied", "duplicate"):
                delivered.append(message_id)
                message.answer = result.get("answer")
            elif result.get("status") == "deferred":
                message.next_attempt_at = now  # behind an earlier one of its case, which now waits
            else:
                _failed(message, f"{result.get('error', result.get('status'))}: {result.get('message')}", now)
        if delivered:
            db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(delivered)).values(state="delivered", delivered_at=now)
            )
    reachable = any(r.get("status") != "unreachable" for r in results)
    return len(delivered), reachable and len(batch) == limit


def deliver_outbox(now: datetime) -> int:
    """Deliver every due message, peer by peer, batch by batch; returns how many were delivered.
    A peer that cannot be reached is left for the next run after one try."""
    with unit_of_work():
        recipients = db.session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.state == "queued").distinct()
        ).all()
    total = 0
    for recipient in recipients:
        go_on = True
        while go_on:
            delivered, go_on = _deliver_batch(recipient, now)
            total += delivered
    return total


def get_message(message_id: str, senders: Collection[str] | None = None) -> OutboxMessage:
    """The message by its id; one sent by a bureau outside `senders` (if given) is not found, so that
    an operator of one bureau learns nothing of another's messages, not even that they exist. An id
    longer than the column or with a control character (PostgreSQL refuses NUL) names none."""
    valid = len(message_id) <= 36 and is_printable(message_id)
    query = select(OutboxMessage).where(OutboxMessage.message_id == message_id)
    message = db.session.scalar(query) if valid else None
    if message is None or (senders is not None and message.sender not in senders):
        raise NotFound(f"没有编号为 {message_id} 的报文。", code="unknown_message")
    return message


def retry(message: OutboxMessage, now: datetime) -> OutboxMessage:
    """An operator sends a dead (or failing) message again from now, with a fresh count of attempts."""
    if message.state == "delivered":
        raise Conflict("该报文已送达。", code="already_delivered")
    message.state, message.attempts, message.next_attempt_at = "queued", 0, now
    return message


def retry_dead(recipient: str | None, now: datetime) -> int:
    """Every dead message (to `recipient`, if named) queued again; returns how many."""
    query = update(OutboxMessage).where(OutboxMessage.state == "dead")
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient)
    return db.session.execute(query.values(state="queued", attempts=0, next_attempt_at=now)).rowcount


def list_messages(
    state: str | None, recipient: str | None, senders: Collection[str] | None = None, limit: int = 200
) -> list[OutboxMessage]:
    """The newest messages in `state` to `recipient` (each if given) sent by `senders` (all if None)."""
    query = select(OutboxMessage)
    if senders is not None:
        query = query.where(OutboxMessage.sender.in_(senders))
    if state == "failing":
        query = query.where(OutboxMessage.state == "queued", OutboxMessage.attempts > 0)
    elif state:
        query = query.where(OutboxMessage.state == state)
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient)
    return db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)).all()


def received_exposures(limit: int = 200) -> list[ReceivedExposure]:
    """The typical cases the peers published and have not withdrawn, newest first."""
    query = (
        select(ReceivedExposure)
        .where(ReceivedExposure.withdrawn_at.is_(None))
        .order_by(ReceivedExposure.received_at.desc(), ReceivedExposure.id.desc())
    )
    return db.session.scalars(query.limit(limit)).all()


def exchange_status(bureaus: Collection[str] | None = None) -> dict:
    """Per peer: the outbox (queued, failing, delivered, dead), the inbox and the refused messages;
    per hotline centre that was sent 回单 (by name), and for the SMS to complainants: the outbox;
    with `bureaus`, only what they sent and received (and the refusals addressed to no bureau hosted
    here, which concern every operator), else everything."""
    trust = get_trust()
    hosted = [code for code in trust.hosted if bureaus is None or code in bureaus]

    def no_counts() -> dict:
        return {"outbox": dict.fromkeys(("queued", "failing", "delivered", "dead"), 0),
                "inbox": {"applied": 0, "refused": 0}}  # fmt: skip

    peers = {code: {"url": peer.url, "local": peer.url is None, **no_counts()} for code, peer in trust.peers.items()}
    tried = OutboxMessage.attempts > literal_column("0")  # no bound parameter: one expression to group by
    outgoing = select(OutboxMessage.recipient, OutboxMessage.state, tried, func.count())
    incoming = select(InboxMessage.sender, func.count())
    refusals = select(ExchangeRejection.sender, func.sum(ExchangeRejection.count))
    if bureaus is not None:
        outgoing = outgoing.where(OutboxMessage.sender.in_(hosted))
        incoming = incoming.where(InboxMessage.recipient.in_(hosted))
        refusals = refusals.where(or_(
            ExchangeRejection.recipient.in_(hosted),
            ExchangeRejection.recipient.is_(None),
            ExchangeRejection.recipient.not_in(trust.hosted),
        ))  # fmt: skip
    centres, sms = {}, {"url": current_app.config["SMS_GATEWAY_URL"], **no_counts()}
    del sms["inbox"]
    for recipient, state, was_tried, count in db.session.execute(
        outgoing.group_by(OutboxMessage.recipient, OutboxMessage.state, tried)
    ):
        centre = _centre(recipient)
        if recipient == SMS:
            box = sms
        elif centre is None:
            box = peers.setdefault(recipient, no_counts())  # a peer since removed from the registry
        else:
            box = centres.setdefault(centre.name, {"url": centre.callback_url, **no_counts()})
            box.pop("inbox", None)
        box["outbox"]["failing" if state == "queued" and was_tried else state] += count
    for sender, count in db.session.execute(incoming.group_by(InboxMessage.sender)):
        if sender in peers:
            peers[sender]["inbox"]["applied"] = count
    unknown = 0
    for sender, count in db.session.execute(refusals.group_by(ExchangeRejection.sender)):
        if sender in peers:
            peers[sender]["inbox"]["refused"] = count
        else:
            unknown += count
    return {"bureaus": hosted, "peers": peers, "centres": centres, "sms": sms, "refused_from_unknown": unknown}
