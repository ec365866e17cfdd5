"""信访文书: the written notices of a formal petition (workflows/documents.yaml), issued by the action
that decides (受理, 不予受理, 延期, 答复, 复查, 复核), numbered per bureau, kind and year, on the case's
record, and printed from their templates. Flushes; the caller commits."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from ecoflow.casework.step import Step
from ecoflow.complaints import privacy
from ecoflow.complaints.models import Complaint, Event, Extension
from ecoflow.errors import NotFound
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.timeutil import SHANGHAI

from .models import DocumentCounter, Instruction, PetitionDocument


def issue_documents(step: Step):
    """The notices this action issues on a formal petition (none on any other case): numbered, dated,
    their numbers on the action's record."""
    complaint = step.complaint
    if not complaint.is_petition:
        return
    for kind, spec in step.norm.documents["kinds"].items():
        if spec["action"] != step.action.name:
            continue
        if step.action.name == "approve_extension" and not step.data["approved"]:
            continue  # a refused extension changes nothing the petitioner must be told
        document = _issue(complaint, kind, spec, _fields(step, kind), step.now)
        step.record.setdefault("documents", []).append(document.number)


def _last_event(complaint: Complaint, action: str) -> Event | None:
    return db.session.scalars(
        select(Event).where(Event.complaint_id == complaint.id, Event.action == action).order_by(Event.seq.desc())
    ).first()


def _latest(complaint: Complaint, kind: str) -> PetitionDocument | None:
    return db.session.scalars(
        select(PetitionDocument)
        .where(PetitionDocument.complaint_id == complaint.id, PetitionDocument.kind == kind)
        .order_by(PetitionDocument.id.desc())
    ).first()


def _fields(step: Step, kind: str) -> dict:
    """What the notice says, as written, with the dates it names (ISO, UTC)."""
    complaint, data, now = step.complaint, step.data, step.now
    accepted = _last_event(complaint, "accept")
    fields = {"accepted_at": (accepted.occurred_at if accepted else now).isoformat()}
    if kind == "rejection":
        fields.update(reason=data["reason"], referred_to=data.get("referred_to"))
    elif kind == "extension":
        extension = db.session.scalar(
            select(Extension).where(Extension.complaint_id == complaint.id, Extension.ordinal == step.record["ordinal"])
        )
        clock = complaint.running_clock(step.norm.petition["extension"]["clock"])
        fields.update(reason=extension.reason, days=extension.days, due_at=clock.due_at.isoformat())
    elif kind in ("answer", "review", "recheck"):
        fields.update(result=data["result"], text=data["text"])
        if kind != "answer":
            request = _last_event(complaint, "request_review" if kind == "review" else "request_recheck")
            fields["requested_at"] = request.occurred_at.isoformat() if request else None
            answer = _latest(complaint, "answer")
            fields["answer_number"] = answer.number if answer else None
    return fields


@functools.cache
def _count(dialect: str):
    """INSERT ... ON CONFLICT DO UPDATE of the counter: numbers stay unique and gapless however many
    notices are issued at once (the row lock serialises them)."""
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(DocumentCounter)
    return (
        statement.values(bureau_code=bindparam("bureau_code"), kind=bindparam("kind"), year=bindparam("year"), last=1)
        .on_conflict_do_update(index_elements=["bureau_code", "kind", "year"], set_={"last": DocumentCounter.last + 1})
        .returning(DocumentCounter.last)
    )


def _issue(complaint: Complaint, kind: str, spec, fields: dict, now: datetime) -> PetitionDocument:
    year = now.astimezone(SHANGHAI).year
    params = {"bureau_code": complaint.bureau_code, "kind": kind, "year": year}
    serial = db.session.execute(_count(db.session.get_bind().dialect.name), params).scalar_one()
    prefix = get_norm().documents["prefixes"][complaint.bureau_code]
    document = PetitionDocument(
        complaint_id=complaint.id, bureau_code=complaint.bureau_code, kind=kind, year=year, serial=serial,
        number=f"{prefix}{spec['mark']}〔{year}〕第{serial}号", issued_at=now, event_seq=complaint.event_seq + 1,
        fields=fields,
    )  # fmt: skip
    db.session.add(document)
    return document


def list_documents(complaint: Complaint) -> list[PetitionDocument]:
    """The notices issued on the case, in the order issued."""
    return db.session.scalars(
        select(PetitionDocument).where(PetitionDocument.complaint_id == complaint.id).order_by(PetitionDocument.id)
    ).all()


def list_instructions(complaint: Complaint) -> list[Instruction]:
    """The leaders' instructions on the case (领导批示), in the order given."""
    return db.session.scalars(
        select(Instruction).where(Instruction.complaint_id == complaint.id).order_by(Instruction.id)
    ).all()


def get_document(complaint: Complaint, document_id: int) -> PetitionDocument:
    document = db.session.get(PetitionDocument, document_id)
    if document is None or document.complaint_id != complaint.id:
        raise NotFound(f"案件 {complaint.case_no} 没有这份文书。", code="unknown_document")
    return document


def title_of(document: PetitionDocument) -> str:
    return get_norm().documents["kinds"][document.kind]["title"]


def official_date(moment: datetime | str | None) -> str:
    """A date as official documents write it: 2026年10月10日."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def _last_day(due_at: str) -> str:
    """The day a deadline ends on: a clock due at midnight ends with the day before."""
    return official_date(datetime.fromisoformat(due_at) - timedelta(seconds=1))


@functools.cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True)


def render_document(document: PetitionDocument, complaint: Complaint, addressed: bool) -> Markup:
    """The notice's text from its template. `addressed`: the copy for the petitioner, naming them; any
    other copy (the file's) masks them. Either way every text is cleared of other people's phone
    numbers, e-mail addresses and ID numbers, and names no officer."""
    spec = get_norm().documents["kinds"][document.kind]
    fields = document.fields

    def clean(text):
        return privacy.mask_text(text, None if addressed else complaint) if text else text

    name = complaint.complainant_name
    petitioner = (name if addressed else privacy.mask_name(name)) if name else "信访人"
    context = {
        "bureau": get_norm().catalog["bureaus"][document.bureau_code], "title": spec["title"],
        "number": document.number, "issued_on": official_date(document.issued_at), "petitioner": petitioner,
        "people_count": complaint.people_count or 1, "joint": complaint.is_joint_petition,
        "case_no": complaint.case_no, "received_on": official_date(complaint.received_at),
        "accepted_on": official_date(fields.get("accepted_at")), "reason": clean(fields.get("reason")),
        "referred_to": clean(fields.get("referred_to")), "days": fields.get("days"),
        "due_on": _last_day(fields["due_at"]) if fields.get("due_at") else "",
        "result": clean(fields.get("result")), "text": clean(fields.get("text")),
        "requested_on": official_date(fields.get("requested_at")), "answer_number": fields.get("answer_number"),
    }  # fmt: skip
    return Markup(_environment().from_string(spec["source"]).render(context))
