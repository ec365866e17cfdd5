"""Open311 GeoReport v2 over the norm's complaints, and the citizen's own case lookup. Nothing here
returns a complainant's name, phone or exact address."""

from __future__ import annotations

import hmac
import re
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from ecoflow.complaints import privacy
from ecoflow.complaints.intake import register_complaint
from ecoflow.complaints.models import Complaint, Event
from ecoflow.complaints.notices import survey_token_hash
from ecoflow.complaints.schemas import EPOCH, LATEST
from ecoflow.errors import ApiError, NotFound
from ecoflow.exposure.scrub import scrub
from ecoflow.extensions import db
from ecoflow.intake.models import ChannelClient
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Bureau
from ecoflow.rest import is_printable
from ecoflow.timeutil import SHANGHAI

from .models import Open311Request, Survey

# GeoReport v2: without dates, the last 90 days; a query spans at most 90 days and 1000 requests.
DEFAULT_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
LOCATION_LIMITS = {"lat": (-90, 90), "long": (-180, 180)}


class Open311Error(ApiError):
    """An error of the GeoReport list: HTTP 400, 403 or 404 with a description."""

    def __init__(self, status: int, description: str):
        super().__init__(description, code="open311")
        self.status = status


def _services():
    return get_norm().open311["services"]


def jurisdiction(jurisdiction_id: str | None, default: str | None = None) -> str:
    """The bureau a request is about: jurisdiction_id, else the given default, else the only one."""
    if jurisdiction_id:
        if not _is_key(jurisdiction_id) or db.session.get(Bureau, jurisdiction_id) is None:
            raise Open311Error(404, f"jurisdiction_id {jurisdiction_id} not found")
        return jurisdiction_id
    if default:
        return default
    bureaus = db.session.scalars(select(Bureau.code).limit(2)).all()
    if len(bureaus) != 1:
        raise Open311Error(400, "jurisdiction_id was not provided")
    return bureaus[0]


def _is_key(value: str, limit: int = 40) -> bool:
    """Whether a value from the URL can name anything at all (the database refuses some, e.g. NUL)."""
    return len(value) <= limit and is_printable(value)


def _offered(bureau_code: str) -> list[str]:
    return get_norm().open311["jurisdictions"].get(bureau_code, [])


def list_services(bureau_code: str) -> list[dict]:
    """GET services: the bureau's service types."""
    services = _services()
    return [_service_entry(code, services[code]) for code in _offered(bureau_code)]


def _service_entry(code: str, service: dict) -> dict:
    return {
        "service_code": code,
        "service_name": service["name"],
        "description": service["description"],
        "metadata": bool(service["attributes"]),
        "type": "realtime",
        "keywords": ",".join(service["keywords"]),
        "group": service["group"],
    }


def _service(bureau_code: str, service_code: str | None) -> dict:
    if not service_code:
        raise Open311Error(400, "service_code was not provided")
    if service_code not in _offered(bureau_code):
        raise Open311Error(404, f"service_code {service_code} not found")
    return _services()[service_code]


def service_definition(bureau_code: str, service_code: str) -> dict:
    """GET services/<code>: the attributes a request of this service takes."""
    service = _service(bureau_code, service_code)
    attributes = [_attribute_entry(order, a) for order, a in enumerate(service["attributes"], 1)]
    return {"service_code": service_code, "attributes": attributes}


def _attribute_entry(order: int, attribute: dict) -> dict:
    return {
        "variable": True,
        "code": attribute["code"],
        "datatype": attribute["datatype"],
        "required": attribute["required"],
        "datatype_description": attribute["datatype_description"],
        "order": order,
        "description": attribute["description"],
        "values": [{"key": key, "name": name} for key, name in attribute["values"].items()],
    }


def _text(form, name: str, limit: int) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        return None
    if len(value) > limit or not is_printable(value):
        raise Open311Error(400, f"{name} is invalid (printable text of at most {limit} characters)")
    return value


def _coordinate(form, name: str) -> float | None:
    raw = form.get(name)
    if raw in (None, ""):
        return None
    low, high = LOCATION_LIMITS[name]
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise Open311Error(400, f"{name} must be a number between {low} and {high}")
    return value


def _attributes(service: dict, form) -> dict:
    """The service's attributes from attribute[code] fields, checked against its definition."""
    values = {}
    for attribute in service["attributes"]:
        name = f"attribute[{attribute['code']}]"
        given = [v for v in form.getlist(name) if v != ""] if hasattr(form, "getlist") else []
        if not given:
            if attribute["required"]:
                raise Open311Error(400, f"{name} is required")
            continue
        if attribute["values"] and any(v not in attribute["values"] for v in given):
            raise Open311Error(400, f"{name} must be one of {', '.join(attribute['values'])}")
        if not all(is_printable(v) and len(v) <= 200 for v in given):
            raise Open311Error(400, f"{name} is invalid")
        multiple = attribute["datatype"] == "multivaluelist"
        values[attribute["code"]] = given if multiple else given[0]
    return values


def submit_request(client: ChannelClient, form, now: datetime) -> Open311Request:
    """POST requests: a complaint of channel `online` in the client's bureau, and its token."""
    bureau_code = jurisdiction(form.get("jurisdiction_id"), default=client.bureau_code)
    if bureau_code != client.bureau_code:
        raise Open311Error(403, f"api_key is not valid for jurisdiction_id {bureau_code}")
    service_code = form.get("service_code")
    service = _service(bureau_code, service_code)
    lat, lng = _coordinate(form, "lat"), _coordinate(form, "long")
    address = _text(form, "address_string", 200) or _text(form, "address_id", 200)
    if address is None and (lat is None or lng is None):
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    name = "".join(p for p in (_text(form, "last_name", 25), _text(form, "first_name", 25)) if p) or None
    phone = _text(form, "phone", 20)
    if phone and not re.fullmatch(r"\+?[0-9][0-9 -]{2,18}", phone):
        raise Open311Error(400, "phone is invalid")
    origin = {"open311_service": service_code, "attributes": _attributes(service, form)}
    for extra in ("email", "device_id", "account_id", "media_url"):
        if _text(form, extra, 300):
            origin[extra] = _text(form, extra, 300)
    data = {
        "bureau": bureau_code,
        "channel": "online",
        "type": "complaint",
        "description": _text(form, "description", 4000) or service["name"],
        "location": {"address": address or f"坐标 {lat:.5f},{lng:.5f}", "lat": lat, "lng": lng},
        "origin": origin,
    }
    if name or phone:
        data["complainant"] = {"name": name, "phone": phone}
    complaint, _ = register_complaint(client.officer, data, now)
    request = Open311Request(complaint=complaint, token=str(uuid.uuid4()), client_id=client.id,
                             service_code=service_code)  # fmt: skip
    db.session.add(request)
    db.session.flush()
    return request


def _status(complaint: Complaint) -> str:
    return "closed" if get_norm().states[complaint.state].get("final") else "open"


def _expected(complaint: Complaint, norm) -> str:
    """The reply deadline: the reply clock's, or, until a dispatcher grades the case, the one the
    suggested grade's reply clock would give from the moment it was received."""
    reply = complaint.running_clock("reply") or next((c for c in complaint.clocks if c.kind == "reply"), None)
    if reply is not None:
        return reply.due_at.astimezone(SHANGHAI).isoformat()
    grade = norm.grades.get((complaint.suggestion or {}).get("grade"))
    if complaint.grade is not None or norm.states[complaint.state].get("final") or grade is None:
        return ""
    period = grade.clocks.get("reply")
    return norm.calendar.add(complaint.received_at, period).astimezone(SHANGHAI).isoformat() if period else ""


def _public_request(request: Open311Request) -> dict:
    """A request as GeoReport shows it: no name, no phone, the address only to the district."""
    complaint, norm = request.complaint, get_norm()
    return {
        "service_request_id": complaint.case_no,
        "status": _status(complaint),
        "status_notes": norm.states[complaint.state]["label"],
        "service_name": _services()[request.service_code]["name"],
        "service_code": request.service_code,
        "description": scrub(
            complaint.description, [complaint.complainant_name], [complaint.address], complaint.district_code
        ),
        "agency_responsible": complaint.unit.name if complaint.unit else norm.catalog["bureaus"][complaint.bureau_code],
        "service_notice": "",
        "requested_datetime": complaint.received_at.astimezone(SHANGHAI).isoformat(),
        "updated_datetime": complaint.updated_at.astimezone(SHANGHAI).isoformat(),
        "expected_datetime": _expected(complaint, norm),
        "address": privacy.mask_address(complaint.address, complaint.district_code),
        "address_id": "",
        "zipcode": "",
        "lat": privacy.coarsen(complaint.lat),
        "long": privacy.coarsen(complaint.lng),
        "media_url": "",
    }


def _requests_query(bureau_code: str):
    return select(Open311Request).join(Open311Request.complaint).where(Complaint.bureau_code == bureau_code)


def get_request(bureau_code: str, case_no: str) -> dict:
    """GET requests/<id>."""
    query = _requests_query(bureau_code).where(Complaint.case_no == case_no)
    request = db.session.scalar(query) if _is_key(case_no) else None
    if request is None:
        raise Open311Error(404, f"service_request_id {case_no} not found")
    return _public_request(request)


def _when(args, name: str) -> datetime | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Open311Error(400, f"{name} must be a W3C date-time with a time zone, e.g. 2026-11-05T08:15:30+08:00")
    if not EPOCH <= value <= LATEST:
        raise Open311Error(400, f"{name} must lie between the years 2000 and 3000")
    return value


def _listed(args, name: str) -> list[str] | None:
    """A comma-separated parameter's values (only those that can name something); None when absent."""
    values = [v.strip() for v in (args.get(name) or "").split(",") if v.strip()]
    return [v for v in values if _is_key(v)] if values else None


def list_requests(bureau_code: str, args, now: datetime) -> list[dict]:
    """GET requests with the spec's filters: service_request_id (alone), or service_code, status,
    start_date and end_date (the last 90 days when absent, at most 90 days), newest first."""
    query = _requests_query(bureau_code)
    ids = _listed(args, "service_request_id")
    if ids is not None:
        query = query.where(Complaint.case_no.in_(ids[:MAX_REQUESTS]))
    else:
        end = _when(args, "end_date")
        start = _when(args, "start_date")
        try:
            end = end or (start + DEFAULT_SPAN if start else now)
            start = start or end - DEFAULT_SPAN
        except OverflowError:  # 0001-01-01 or 9999-12-31
            start = end = None
        if start is None or end < start or end - start > DEFAULT_SPAN:
            raise Open311Error(400, "start_date and end_date must span at most 90 days, start before end")
        query = query.where(Complaint.received_at >= start, Complaint.received_at <= end)
        codes = _listed(args, "service_code")
        if codes is not None:
            query = query.where(Open311Request.service_code.in_(codes))
        statuses = {s.strip() for s in (args.get("status") or "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both")
        if len(statuses) == 1:
            final = [name for name, state in get_norm().states.items() if state.get("final")]
            is_closed = Complaint.state.in_(final)
            query = query.where(is_closed if "closed" in statuses else ~is_closed)
    requests = db.session.scalars(query.order_by(Complaint.received_at.desc()).limit(MAX_REQUESTS)).unique()
    return [_public_request(r) for r in requests]


def request_for_token(token: str) -> dict:
    """GET tokens/<token>: the service request a token became."""
    found = select(Open311Request).where(Open311Request.token == token)
    request = db.session.scalar(found) if _is_key(token) else None
    if request is None:
        raise Open311Error(404, f"token {token} not found")
    return {"service_request_id": request.complaint.case_no, "token": request.token}


# --- the citizen's own case -------------------------------------------------------------------

NOT_FOUND = "未找到与该受理编号和手机尾号相符的诉求，请核对后重试。"


# The complaints one order number may name (several centres may number alike) that a lookup compares.
MAX_ORDER_MATCHES = 10


def _last4_matches(complaint: Complaint | None, phone_last4: str) -> bool:
    """Compared in constant time, and compared even for no case, so that neither shows."""
    phone = re.sub(r"\D", "", (complaint.complainant_phone or "") if complaint else "")
    return hmac.compare_digest((phone[-4:] if len(phone) >= 4 else "----").encode(), phone_last4.encode())


def lookup_case(case_no: str | None, order_no: str | None, phone_last4: str, now: datetime) -> dict:
    """The state, deadline and (once given) reply of a case, for whoever knows its number (or the
    hotline centre's order number, in any case of letters) and the last four digits of the
    complainant's phone. Any mismatch answers exactly like an unknown case."""
    if case_no is not None:
        query = select(Complaint).where(Complaint.case_no == case_no)
    else:
        query = select(Complaint).where(func.upper(Complaint.external_id) == order_no.upper())
    candidates = db.session.scalars(query.order_by(Complaint.id).limit(MAX_ORDER_MATCHES)).all() or [None]
    complaint = next((c for c in candidates if _last4_matches(c, phone_last4)), None)
    if complaint is None:
        raise NotFound(NOT_FOUND, code="not_found")
    norm = get_norm()
    reply_clock = next((c for c in complaint.clocks if c.kind == "reply"), None)
    reply = db.session.scalar(
        select(Event).where(Event.complaint_id == complaint.id, Event.action == "reply").order_by(Event.seq.desc())
    )
    return {
        "case_no": complaint.case_no,
        "state": complaint.state,
        "state_label": norm.states[complaint.state]["label"],
        "status": _status(complaint),
        "received_at": complaint.received_at.astimezone(SHANGHAI).isoformat(),
        "deadline": reply_clock.due_at.astimezone(SHANGHAI).isoformat() if reply_clock else None,
        "reply": {
            "text": privacy.redact(reply.data.get("text", ""), complaint),
            "result": privacy.redact(reply.data.get("result", ""), complaint),
            "replied_at": reply.occurred_at.astimezone(SHANGHAI).isoformat(),
        } if reply else None,
    }  # fmt: skip


# --- 满意度评价: the survey link of the 答复 SMS -------------------------------------------------


class SurveyClosed(ApiError):
    """A survey link that takes no answer: `unknown`, `used`, `expired` or `done` (the case no longer
    waits for this 回访: answered otherwise, or answered again after a new reply)."""

    MESSAGES = {
        "unknown": "该评价链接无效，请核对短信中的链接。",
        "used": "您已通过该链接提交过评价，每个链接只能使用一次。感谢您的反馈！",
        "expired": "该评价链接已过期。如对办理结果有意见，请拨打12345或12369热线反映。",
        "done": "该问题的回访已经完成，此链接已失效。感谢您的关注！",
    }

    def __init__(self, reason: str):
        super().__init__(self.MESSAGES[reason], code=f"survey_{reason}")
        self.reason = reason


def open_survey(token: str, now: datetime) -> Survey:
    """The survey the link's token opens, while it may still be answered; SurveyClosed otherwise."""
    survey = db.session.scalar(select(Survey).where(Survey.token_hash == survey_token_hash(token)))
    if survey is None:
        raise SurveyClosed("unknown")
    if survey.used_at is not None:
        raise SurveyClosed("used")
    if survey.expires_at <= now:
        raise SurveyClosed("expired")
    newest = db.session.scalar(select(func.max(Survey.id)).where(Survey.complaint_id == survey.complaint_id))
    if survey.complaint.state != "replied" or newest != survey.id:
        raise SurveyClosed("done")
    return survey


def use_survey(survey: Survey, now: datetime):
    """Spend the link: of two answers sent at once, one takes it and the other is told it was used."""
    spent = db.session.execute(
        update(Survey).where(Survey.id == survey.id, Survey.used_at.is_(None)).values(used_at=now)
    )
    if spent.rowcount != 1:
        raise SurveyClosed("used")
    # Intake may be typing the 回访 of the same case at this moment: whoever goes second finds it done.
    complaint = survey.complaint
    locked = select(Complaint.version).where(Complaint.id == complaint.id).with_for_update()
    if db.session.scalar(locked) != complaint.version:
        db.session.refresh(complaint)
    if complaint.state != "replied":
        raise SurveyClosed("done")


def survey_view(survey: Survey) -> dict:
    """What the survey page shows of the case: its number, bureau and the answer given (no personal data)."""
    complaint = survey.complaint
    reply = db.session.scalar(
        select(Event).where(Event.complaint_id == complaint.id, Event.action == "reply").order_by(Event.seq.desc())
    )
    return {
        "case_no": complaint.case_no,
        "bureau": get_norm().catalog["bureaus"].get(complaint.bureau_code, complaint.bureau_code),
        "result": privacy.redact(reply.data.get("result", ""), complaint) if reply else "",
        "text": privacy.redact(reply.data.get("text", ""), complaint) if reply else "",
        "expires_at": survey.expires_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
    }
