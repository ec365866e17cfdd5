"""Attaching files to a case, tying them to an action, opening and withdrawing them, and checking that
the rows, the files and the trail agree. Flushes; the caller commits."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime
from typing import BinaryIO

from flask import Response, current_app
from sqlalchemy import Text, cast, select

from ecoflow.casework import access
from ecoflow.casework.step import Step
from ecoflow.casework.trail import record_event
from ecoflow.complaints.models import Complaint, Event
from ecoflow.errors import BadGateway, Forbidden, Invalid, NotFound, TooLarge, UnsupportedType
from ecoflow.exchange.files import fetch_file
from ecoflow.exchange.models import OutboxMessage
from ecoflow.exchange.transport import TransportError
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer

from . import media
from .models import Attachment
from .storage import CHUNK, Storage, get_storage, note_written, send_stored

# A name is kept only to name a download: its last part, printable, at most this long.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\"]")
NAME_LENGTH = 100


def safe_filename(name: str | None, kind: str, content_type: str) -> str:
    """The last part of the name the client sent, without control characters or quotes."""
    name = _UNSAFE.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    if not name:
        name = kind + "." + content_type.rsplit("/", 1)[-1].removeprefix("x-")
    return name[-NAME_LENGTH:]


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def check_may_attach(actor: Officer, complaint: Complaint):
    """Anyone who may take an action on the case now may attach files to it."""
    access.check_can_view(actor, complaint)
    if not access.allowed_actions(actor, complaint):
        raise Forbidden(f"您当前不能办理案件 {complaint.case_no}，不能为其添加材料。", code="role_not_allowed")


def _save(storage: Storage, stream: BinaryIO):
    stored = storage.save(stream)
    note_written(db.session, storage, stored)
    return stored


def add_attachment(
    actor: Officer | None, complaint: Complaint, stream: BinaryIO, filename: str | None, data: dict, now: datetime
) -> Attachment:
    """Keep an uploaded file with the case: its type sniffed from the content and checked against
    its kind (workflows/evidence.yaml), a photo decoded and its stripped copies made, its hash put on
    the case's trail. `actor` None: the complainant (Open311). Raises and keeps nothing when refused."""
    if actor is not None:
        check_may_attach(actor, complaint)
    evidence = get_norm().evidence
    kind = evidence.kinds[data["kind"]]
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size == 0:
        raise Invalid("文件是空的。", {"fields": {"file": ["文件是空的。"]}}, code="empty_file")
    if size > kind.max_bytes:
        raise TooLarge(f"{kind.label}不能超过 {_mb(kind.max_bytes)}。", {"limit": kind.max_bytes, "kind": kind.name})
    content_type = media.sniff(stream, kind.types)
    if content_type is None:
        raise UnsupportedType(
            f"文件内容不是可接受的{kind.label}格式。",
            {"kind": kind.name, "accepted": list(kind.types)},
        )
    # Virus scanning would be called here, on `stream`, before anything is kept (not done yet).
    copies = ()
    if kind.name == "photo":
        try:
            image = media.open_image(stream, evidence.max_pixels)
        except media.Unreadable as exc:
            message = (f"图片像素过多（上限 {evidence.max_pixels:,} 像素）。" if str(exc) == "bomb"
                       else "图片无法解码，文件可能已损坏。")  # fmt: skip
            raise Invalid(message, {"fields": {"file": [message]}}, code="bad_image") from None
        copies = media.stripped_copies(image, evidence.thumbnail)
        stream.seek(0)
    storage = get_storage()
    stored = _save(storage, stream)
    thumb, stripped = (_save(storage, io.BytesIO(copy)).sha256 for copy in copies) if copies else (None, None)
    attachment = Attachment(
        complaint=complaint,
        sha256=stored.sha256,
        size=stored.size,
        content_type=content_type,
        kind=kind.name,
        filename=safe_filename(filename, kind.name, content_type),
        caption=data.get("caption"),
        is_from_complainant=actor is None or data.get("from_complainant", False),
        created_at=now,
        created_by_id=actor.id if actor else None,
        thumb_sha256=thumb,
        stripped_sha256=stripped,
    )
    db.session.add(attachment)
    db.session.flush()
    record = {"attachment": attachment.id, "sha256": attachment.sha256, "kind": kind.name,
              "from_complainant": attachment.is_from_complainant}  # fmt: skip
    if attachment.caption:
        record["caption"] = attachment.caption
    record_event(complaint, actor, "attach", complaint.state, record, now)
    db.session.flush()
    return attachment


def guess_kind(stream: BinaryIO) -> str:
    """The kind whose types the content is of (the web forms ask no kind); 415 when none."""
    kinds = get_norm().evidence.kinds.values()
    accepted = tuple(t for kind in kinds for t in kind.types)
    content_type = media.sniff(stream, accepted)
    kind = next((kind for kind in kinds if content_type in kind.types), None)
    if kind is None:
        labels = "、".join(kind.label for kind in kinds)
        raise UnsupportedType(f"文件内容不是可接受的格式（{labels}）。", {"accepted": list(accepted)})
    return kind.name


def attach_files(
    actor: Officer | None, complaint: Complaint, files: list[tuple[BinaryIO, str | None]], now: datetime,
    *, from_complainant: bool = False,
) -> list[Attachment]:  # fmt: skip
    """Several files of a web form, each of the kind its content is; `actor` None: the complainant's."""
    return [
        add_attachment(
            actor, complaint, stream, name, {"kind": guess_kind(stream), "from_complainant": from_complainant}, now
        )
        for stream, name in files
    ]


def list_attachments(complaint: Complaint, *, withdrawn: bool = False) -> list[Attachment]:
    """The case's attachments, oldest first; those withdrawn only when asked."""
    query = select(Attachment).where(Attachment.complaint_id == complaint.id)
    if not withdrawn:
        query = query.where(Attachment.withdrawn_at.is_(None))
    return db.session.scalars(query.order_by(Attachment.created_at, Attachment.id)).all()


def get_attachment(complaint: Complaint, attachment_id: int) -> Attachment:
    """One attachment of the case."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.complaint_id != complaint.id:
        raise NotFound(f"案件 {complaint.case_no} 没有编号为 {attachment_id} 的材料。", code="unknown_attachment")
    return attachment


def may_open(officer: Officer, attachment: Attachment) -> bool:
    """Whether the officer may open the file (without logging it): the complainant's own uploads are
    personal data, for those who see the complainant unmasked."""
    return not attachment.is_from_complainant or access.may_see_personal_data(officer, attachment.complaint)


def open_attachment(officer: Officer, attachment: Attachment, copy: str, now: datetime) -> Response:
    """The file (`original`) or its thumbnail (`thumbnail`) as a response; a view of the complainant's
    own file is logged like an unmasked read, and refused to those who see the complainant masked."""
    complaint = attachment.complaint
    purpose = f"attachment {attachment.id}"
    if attachment.is_from_complainant and not access.reveal_personal_data(officer, complaint, purpose, now):
        raise Forbidden("这是投诉人提供的材料，含个人信息，您无权查看。", code="personal_data")
    original = copy == "original"
    key = attachment.sha256 if original else attachment.thumb_sha256
    if key is None:
        raise NotFound("该材料没有缩略图。", code="no_thumbnail")
    storage = get_storage()
    if not storage.exists(key):
        raise NotFound("材料文件缺失，请联系管理员核查。", code="file_missing")
    if original:
        return send_stored(storage, key, attachment.content_type, attachment.filename, attachment.kind == "document")
    return send_stored(storage, key, "image/jpeg", f"thumbnail-{attachment.id}.jpg", False)


def withdraw_attachment(actor: Officer, attachment: Attachment, reason: str, now: datetime) -> Attachment:
    """Hide a wrong upload from the lists: kept, and the withdrawal on the case's trail."""
    complaint = attachment.complaint
    check_may_attach(actor, complaint)
    if attachment.withdrawn_at is not None:
        raise Invalid("该材料已撤回。", code="already_withdrawn")
    attachment.withdrawn_at, attachment.withdrawn_by_id, attachment.withdrawn_reason = now, actor.id, reason
    record = {"attachment": attachment.id, "sha256": attachment.sha256, "reason": reason}
    record_event(complaint, actor, "withdraw_attachment", complaint.state, record, now)
    db.session.flush()
    return attachment


# --- the files of a lead (线索移送) --------------------------------------------------------------


def file_sent_to(peer: str, sha256: str) -> dict | None:
    """The entry of a file this instance sent `peer` with a lead (its hash as the lead states it),
    or None: a peer fetches only what was sent to it."""
    payloads = db.session.scalars(
        select(OutboxMessage.payload).where(
            OutboxMessage.type == "lead.transfer", OutboxMessage.recipient == peer,
            cast(OutboxMessage.payload, Text).like(f"%{sha256}%"),
        )
    )  # fmt: skip
    for payload in payloads:
        for entry in payload.get("files") or []:
            if entry["sha256"] == sha256:
                return entry
    return None


def open_lead_file(officer: Officer, complaint: Complaint, sha256: str, now: datetime) -> Response:
    """A file of the lead this case was made of, by the hash the lead states: from this instance's
    storage (one platform, or fetched before), else fetched from the origin by a signed request and
    kept only if its bytes have that hash. The complainant's own files are personal data."""
    entry = next((f for f in (complaint.lead or {}).get("files") or [] if f["sha256"] == sha256), None)
    if entry is None:
        raise NotFound(f"案件 {complaint.case_no} 的移送线索没有这份材料。", code="unknown_attachment")
    if entry.get("from_complainant") and not access.reveal_personal_data(officer, complaint, f"lead file {sha256}",
                                                                          now):  # fmt: skip
        raise Forbidden("这是投诉人提供的材料，含个人信息，您无权查看。", code="personal_data")
    storage = get_storage()
    if not storage.exists(sha256):
        timeout = current_app.config["EXCHANGE_TIMEOUT_SECONDS"]
        try:
            fetch_file(complaint.bureau_code, complaint.peer_bureau, sha256, storage, now, timeout * 6)
        except TransportError as exc:
            raise BadGateway(f"暂时无法从移送单位取得该材料：{exc}", {"peer": complaint.peer_bureau}) from None
    return send_stored(storage, sha256, entry["content_type"], entry["filename"], entry["kind"] == "document")


# --- tying uploads to an action (casework/engine.py) ------------------------------------------


def check_attachments(step: Step, ids: list[int]) -> list[Attachment]:
    """The attachments an action names (`attachments: [id, …]`): uploads of this case, not withdrawn,
    not tied to another action yet. Their hashes go on the action's record. 422 otherwise."""
    if not ids:
        return []
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(ids))).all()
    found = {row.id: row for row in rows if row.complaint_id == step.complaint.id}
    problems = {}
    for attachment_id in ids:
        row = found.get(attachment_id)
        if row is None:
            problems[str(attachment_id)] = "本案没有这份材料。"
        elif row.withdrawn_at is not None:
            problems[str(attachment_id)] = "这份材料已撤回。"
        elif row.event_seq is not None:
            problems[str(attachment_id)] = "这份材料已属于另一步办理。"
    if problems or len(set(ids)) != len(ids):
        problems = problems or {"attachments": "同一份材料列了两次。"}
        raise Invalid("所附材料有误。", {"fields": {"attachments": problems}}, code="invalid")
    tied = [found[i] for i in ids]
    step.record["attachments"] = [{"id": a.id, "sha256": a.sha256} for a in tied]
    return tied


def tie_attachments(attachments: list[Attachment], event: Event):
    """The attachments belong to the action whose event this is."""
    for attachment in attachments:
        attachment.event_seq = event.seq


# --- the rows and the files -------------------------------------------------------------------


def _file_hash(storage: Storage, key: str) -> str:
    digest = hashlib.sha256()
    with storage.open(key) as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_attachments(fix: bool = False, orphan_age_seconds: float = 3600) -> dict[str, list]:
    """What does not agree: files without rows (`orphans`; removed with `fix` when older than
    `orphan_age_seconds`, so that an upload in progress keeps its file; a received lead's files are
    not orphans), rows whose file is missing
    (`missing`) or whose content's hash differs (`changed`), rows whose hash is not the one on the
    trail (`off_record`)."""
    storage = get_storage()
    columns = (Attachment.id, Attachment.sha256, Attachment.thumb_sha256, Attachment.stripped_sha256)
    rows = db.session.execute(select(*columns)).all()
    report = {"orphans": [], "missing": [], "changed": [], "off_record": [], "removed": []}
    referenced = set()
    for row in rows:
        for key in (row.sha256, row.thumb_sha256, row.stripped_sha256):
            if key is None or key in referenced:
                continue
            referenced.add(key)
            if not storage.exists(key):
                report["missing"].append({"attachment": row.id, "sha256": key})
            elif _file_hash(storage, key) != key:
                report["changed"].append({"attachment": row.id, "sha256": key})
    # Files of leads received from peers (fetched by hash, no row of their own here) are kept too.
    for lead in db.session.scalars(select(Complaint.lead).where(Complaint.lead.is_not(None))):
        referenced.update(entry["sha256"] for entry in lead.get("files") or [])
    recorded = {
        event.data.get("attachment"): event.data.get("sha256")
        for event in db.session.scalars(select(Event).where(Event.action == "attach"))
    }
    for row in rows:
        if recorded.get(row.id) != row.sha256:
            report["off_record"].append({"attachment": row.id, "sha256": row.sha256})
    for key in storage.hashes():
        if key not in referenced:
            report["orphans"].append(key)
    if fix:
        for key in storage.hashes(older_than=orphan_age_seconds):
            if key not in referenced:
                storage.delete(key)
                report["removed"].append(key)
    return report
