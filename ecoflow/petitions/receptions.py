"""接访: the bureau's leaders' reception days (who, when, where) and the visitors received at one, each
linked to a case of the bureau or registered as a new `visit` case in the same step."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from ecoflow.casework.access import holds, reveal_personal_data
from ecoflow.complaints import privacy
from ecoflow.complaints.intake import register_complaint
from ecoflow.complaints.models import Complaint
from ecoflow.errors import Forbidden, Invalid, NotFound
from ecoflow.extensions import db
from ecoflow.officers.models import Officer

from .models import Reception, ReceptionVisitor

ROLE_SET = "receives_visitors"


def check_may_receive(officer: Officer, bureau_code: str):
    if not holds(officer, ROLE_SET, bureau_code):
        raise Forbidden(
            "没有发布接访日或登记来访人的权限（需要督办员、分管领导或受理员角色）。", code="role_not_allowed"
        )


def publish_reception(officer: Officer, data: dict, now: datetime) -> Reception:
    """A leader's reception day, published for the officer's bureau."""
    bureau_code = data.get("bureau") or officer.bureau_code
    check_may_receive(officer, bureau_code)
    if data["ends_at"] <= data["starts_at"]:
        raise Invalid("结束时间应晚于开始时间。", {"fields": {"ends_at": ["结束时间应晚于开始时间。"]}})
    reception = Reception(
        bureau_code=bureau_code, leader_name=data["leader_name"], leader_title=data["leader_title"],
        starts_at=data["starts_at"].astimezone(UTC), ends_at=data["ends_at"].astimezone(UTC),
        place=data["place"], published_by_id=officer.id,
        published_at=now,
    )  # fmt: skip
    db.session.add(reception)
    db.session.flush()
    return reception


def list_receptions(officer: Officer, since: datetime) -> list[Reception]:
    """The reception days of the officer's bureaus that have not ended yet, the soonest first."""
    return list(
        db.session.scalars(
            select(Reception)
            .where(Reception.bureau_code.in_(officer.bureau_codes), Reception.ends_at >= since)
            .order_by(Reception.starts_at, Reception.id)
        )
    )


def get_reception(officer: Officer, reception_id: int) -> Reception:
    reception = db.session.get(Reception, reception_id)
    if reception is None or reception.bureau_code not in officer.bureau_codes:
        raise NotFound(f"接访日 {reception_id} 不存在。", code="unknown_reception")
    return reception


def record_visitor(
    officer: Officer, reception: Reception, data: dict, now: datetime
) -> tuple[ReceptionVisitor, Complaint]:
    """A visitor received: linked to a case of the bureau (`case_no`), or a new `visit` case registered
    from them (`register`, the intake's fields) in the same transaction; nothing is written on an error."""
    check_may_receive(officer, reception.bureau_code)
    if bool(data.get("case_no")) == bool(data.get("register")):
        message = "请关联一件已有案件，或据此登记一件新的来访案件（二者择一）。"
        raise Invalid(message, {"fields": {"case_no": [message]}})
    if data.get("case_no"):
        complaint = db.session.scalars(select(Complaint).where(Complaint.case_no == data["case_no"])).one_or_none()
        if complaint is None or complaint.bureau_code != reception.bureau_code:
            message = f"案件 {data['case_no']} 不是本局的案件。"
            raise Invalid(message, {"fields": {"case_no": [message]}}, code="not_this_bureau")
        registered = False
    else:
        intake = {
            **data["register"], "channel": "visit", "bureau": reception.bureau_code,
            "complainant": {**data["register"].get("complainant", {}), "name": data["name"],
                            **({"phone": data["phone"]} if data.get("phone") else {})},
        }  # fmt: skip
        # The receiving officer registers it in the bureau's name (a leader holds no intake role).
        complaint, registered = register_complaint(None, intake, now)
    visitor = ReceptionVisitor(
        reception_id=reception.id, name=data["name"], phone=data.get("phone"), subject=data["subject"],
        answer=data["answer"], complaint_id=complaint.id, registered=registered, recorded_by_id=officer.id,
        recorded_at=now,
    )  # fmt: skip
    db.session.add(visitor)
    db.session.flush()
    return visitor, complaint


def visitors_of(reception: Reception) -> list[tuple[ReceptionVisitor, Complaint]]:
    """The visitors recorded at a reception and the case each belongs to."""
    rows = db.session.execute(
        select(ReceptionVisitor, Complaint)
        .join(Complaint, Complaint.id == ReceptionVisitor.complaint_id)
        .where(ReceptionVisitor.reception_id == reception.id)
        .order_by(ReceptionVisitor.recorded_at, ReceptionVisitor.id)
    )
    return [(visitor, complaint) for visitor, complaint in rows]


def shown_visitor(officer: Officer, visitor: ReceptionVisitor, complaint: Complaint, now: datetime) -> dict:
    """A visitor's name and phone as the complainant's of their case: unmasked (and that view logged) for
    whoever may see that complainant, masked for everyone else."""
    if reveal_personal_data(officer, complaint, "reception", now):
        return {"name": visitor.name, "phone": visitor.phone}
    return {"name": privacy.mask_name(visitor.name), "phone": privacy.mask_phone(visitor.phone)}
