"""What the API reads and writes about complaints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypedDict

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from marshmallow.experimental.context import Context

from ecoflow.casework import access, clocks
from ecoflow.norm.current import get_norm
from ecoflow.rest import PagedQuery, Text, Token
from ecoflow.timeutil import SHANGHAI

from . import privacy
from .search import ORDERS, SEARCH_PARAMS, SORT_KEYS


def Code(choices, **kwargs):
    return fields.String(validate=validate.OneOf(list(choices)), **kwargs)


# Nothing the bureaus handle was received before this.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# The latest moment a request may name: far enough for any case, near enough that no zone offset
# takes it past the calendar's last year when it is turned into UTC.
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MOMENT = validate.Range(min=EPOCH, max=LATEST, error="时间应在 2000 年至 3000 年之间。")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# --- intake -----------------------------------------------------------------------------------


class ComplainantSchema(StrictSchema):
    name = Text(50)
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9][0-9 -]{2,18}\Z", error="电话号码格式不正确。"))
    callback_consent = fields.Boolean(load_default=False)
    # The complainant's own home (personal data, masked): not the place of the pollution.
    address = Text(200)
    notify = fields.Boolean(load_default=True)  # false: sends the complainant no SMS


class InstructionSchema(StrictSchema):
    """领导批示 carried by a case of channel `leader` at intake."""

    leader_name = Text(50, required=True)
    leader_title = Text(100, required=True)
    text = Text(2000, required=True)
    report_days = fields.Integer(required=True, strict=True, validate=validate.Range(1, 366))
    given_at = fields.AwareDateTime(default_timezone=SHANGHAI, validate=MOMENT)


class LocationSchema(StrictSchema):
    address = Text(200, required=True)
    district = fields.String(validate=validate.Regexp(r"^[0-9]{6,12}\Z", error="区划代码应为6至12位数字。"))
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    # The place is the complainant's own home (我家楼下): it is their personal data then.
    at_home = fields.Boolean(load_default=False)


def complaint_create_schema(norm) -> Schema:
    """The intake form, its code lists from the norm."""
    catalog = norm.catalog
    return Schema.from_dict(
        {
            "bureau": Code(catalog["bureaus"]),
            "channel": Code(catalog["channels"], required=True),
            "external_id": Token(64),
            "type": Code(catalog["types"], required=True),
            "description": Text(4000, required=True),
            "complainant": fields.Nested(ComplainantSchema),
            "location": fields.Nested(LocationSchema, required=True),
            "received_at": fields.AwareDateTime(default_timezone=SHANGHAI, validate=MOMENT),
            "sensitive": fields.Boolean(),
            # 信访事项 (workflows/petition.yaml): a formal petition, how many brought it, jointly or not.
            "petition": fields.Boolean(),
            "people_count": fields.Integer(strict=True, validate=validate.Range(1, 100000)),
            "joint": fields.Boolean(),
            "instruction": fields.Nested(InstructionSchema),
        },
        name="ComplaintCreateSchema",
    )(unknown=RAISE)


# --- actions ----------------------------------------------------------------------------------


def _action_field(spec: dict, norm):
    kind, required = spec["type"], spec["required"]
    catalog = norm.catalog
    if kind == "text":
        return Text(4000, required=required)
    if kind in ("unit", "officer", "case_no", "leader"):
        return Token(64, required=required)
    if kind == "string":
        return Text(200, required=required)
    if kind == "boolean":
        return fields.Boolean(required=required)
    if kind == "integer":
        return fields.Integer(required=required, strict=True, validate=validate.Range(1, 366))
    if kind == "grade":
        return Code(norm.grades, required=required)
    if kind == "categories":
        return fields.List(Code(catalog["categories"]), required=required, validate=validate.Length(min=1, max=8))
    if kind == "satisfaction":
        return Code(catalog["satisfaction"], required=required)
    if kind == "parties":
        return fields.List(Code(norm.ladder.parties), required=required, validate=validate.Length(min=1, max=6))
    if kind == "bureau":
        return Code(catalog["bureaus"], required=required)
    if kind == "evidence":
        return fields.List(Text(500), required=required, validate=validate.Length(max=50))
    raise AssertionError(kind)  # the norm loader admits no other type


def action_schemas(norm) -> dict[str, Schema]:
    """One schema per action of the norm, from the fields it declares, plus the `version` seen."""
    schemas = {}
    for name, action in norm.actions.items():
        declared = {field: _action_field(spec, norm) for field, spec in action.fields.items()}
        declared["version"] = fields.Integer(required=True, strict=True)
        # Uploads of the case (POST …/attachments) that this action presents (casework/engine.py).
        declared["attachments"] = fields.List(fields.Integer(strict=True), validate=validate.Length(max=20))
        schemas[name] = Schema.from_dict(declared, name=f"{name.title()}ActionSchema")(unknown=RAISE)
    return schemas


# --- listing ----------------------------------------------------------------------------------


class Moment(fields.AwareDateTime):
    """A moment (Beijing time unless a zone is given), or a day: its start, or for the end of a range
    (`end`) the start of the next day, so that received_to=2026-11-30 takes in all of the 30th."""

    def __init__(self, end: bool = False, **kwargs):
        super().__init__(default_timezone=SHANGHAI, validate=MOMENT, **kwargs)
        self.end = end

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) == 10:
            try:
                day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=SHANGHAI)
                moment = day + timedelta(days=1) if self.end else day
            except (ValueError, OverflowError):
                raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None
            self._validate(moment)
            return moment
        return super()._deserialize(value, attr, data, **kwargs)


def _known(kind: str, names):
    """Validator: every value one of `names()` (read when checked: the norm's), naming them when not."""

    def check(values):
        allowed = list(names())
        unknown = [v for v in (values if isinstance(values, list) else [values]) if v not in allowed]
        if unknown:
            raise ValidationError(f"未知的{kind}：{'、'.join(unknown)}。可选：{', '.join(allowed)}。")

    return check


class ComplaintFilterSchema(PagedQuery):
    """案件查询 and the list: every filter; `state` repeated for several states (none: every state)."""

    bureau = Token(8)
    state = fields.List(Token(20), validate=[validate.Length(max=20), _known("状态", lambda: get_norm().states)])
    grade = Token(20)
    channel = Token(20)
    category = Token(20)
    unit = Token(40)
    officer = Token(64)
    district = Token(12)
    case_no = Token(40)
    external_id = Token(64)
    phone = Token(30)  # any notation: only its digits count
    complainant = Token(50)
    overdue = fields.Boolean()
    reopened = fields.Boolean()
    on_ledger = fields.Boolean()
    text = Token(100)
    routing_flag = Token(20)
    received_from = Moment()
    received_to = Moment(end=True)
    closed_from = Moment()
    closed_to = Moment(end=True)
    sort = fields.String(validate=_known("排序字段", lambda: SORT_KEYS))
    order = fields.String(validate=_known("排序方向", lambda: ORDERS))


def _search_params(query: dict):
    """Validator: a saved search holds only the search's own parameters, each a string (state: a list)."""
    unknown = sorted(set(query) - set(SEARCH_PARAMS))
    if unknown:
        raise ValidationError(f"未知的查询参数：{', '.join(unknown)}。可选：{', '.join(SEARCH_PARAMS)}。")
    for key, value in query.items():
        values = value if key == "state" and isinstance(value, list) else [value]
        if not all(isinstance(v, str) and len(v) <= 100 for v in values):
            list_ok = "（state 可为列表）" if key == "state" else ""
            raise ValidationError(f"{key}：应为不超过 100 字的文字{list_ok}。")


class SavedSearchCreateSchema(StrictSchema):
    name = Text(60, required=True)
    query = fields.Dict(keys=fields.String(), required=True, validate=_search_params)


class SavedSearchSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    query = fields.Dict(attribute="params")
    created_at = fields.AwareDateTime()


def filter_args(args) -> dict:
    """A query string as the filter schema reads it: `state` as the list of every value given."""
    data = {key: value for key, value in args.items() if key != "state"}
    if "state" in args:
        data["state"] = args.getlist("state")
    return data


# --- output -----------------------------------------------------------------------------------


class ViewContext(TypedDict):
    viewer: object
    unmasked: bool
    now: object


ComplaintContext = Context[ViewContext]


class ClockSchema(Schema):
    kind = fields.String()
    started_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime()
    paused_at = fields.AwareDateTime()
    stopped_at = fields.AwareDateTime()
    rung = fields.String()
    status = fields.Function(lambda clock: clocks.clock_status(clock, ComplaintContext.get()["now"]))


class ComplaintSchema(Schema):
    case_no = fields.String()
    bureau = fields.String(attribute="bureau_code")
    channel = fields.String()
    external_id = fields.String()
    type = fields.String()
    description = fields.Method("get_description")
    complainant = fields.Method("get_complainant")
    location = fields.Method("get_location")
    sensitive = fields.Boolean(attribute="is_sensitive")
    routing = fields.Dict()
    state = fields.String()
    grade = fields.String()
    categories = fields.Function(lambda c: list(c.categories))
    suggestion = fields.Dict()
    on_ledger = fields.Boolean(attribute="is_on_ledger")
    petition = fields.Boolean(attribute="is_petition")
    people_count = fields.Integer()
    joint = fields.Boolean(attribute="is_joint_petition")
    petition_answered_at = fields.AwareDateTime()
    ledger_leader = fields.Function(lambda c: c.ledger_leader.username if c.ledger_leader_id else None)
    unit = fields.Function(lambda c: c.unit.code if c.unit else None)
    officer = fields.Function(lambda c: c.officer.username if c.officer else None)
    merged_into = fields.Function(lambda c: c.merged_into.case_no if c.merged_into_id else None)
    lead = fields.Method("get_lead")
    reopen_count = fields.Integer()
    received_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    clocks = fields.List(fields.Nested(ClockSchema))
    allowed_actions = fields.Function(lambda c: access.allowed_actions(ComplaintContext.get()["viewer"], c))
    version = fields.Integer()

    def get_description(self, complaint):
        if ComplaintContext.get()["unmasked"]:
            return complaint.description
        return privacy.redact(complaint.description, complaint)

    def get_complainant(self, complaint):
        unmasked = ComplaintContext.get()["unmasked"]
        return {
            "name": complaint.complainant_name if unmasked else privacy.mask_name(complaint.complainant_name),
            "phone": complaint.complainant_phone if unmasked else privacy.mask_phone(complaint.complainant_phone),
            "address": complaint.complainant_address
            if unmasked
            else privacy.mask_address(complaint.complainant_address, complaint.district_code),
            "callback_consent": complaint.callback_consent,
            "masked": not unmasked,
        }

    def get_location(self, complaint):
        """The place of the pollution: whole (the object of the work), masked only where it is the
        complainant's home and the viewer sees the complainant masked."""
        whole = ComplaintContext.get()["unmasked"] or not privacy.place_is_home(complaint)
        return {
            "address": privacy.shown_place(complaint, whole),
            "district": complaint.district_code,
            "lat": complaint.lat if whole else privacy.coarsen(complaint.lat),
            "lng": complaint.lng if whole else privacy.coarsen(complaint.lng),
            "is_home": privacy.place_is_home(complaint),
        }

    def get_lead(self, complaint):
        """线索卡: what the lead this case was made of said (None on a case not received from a peer)."""
        if complaint.lead is None:
            return None
        if ComplaintContext.get()["unmasked"]:
            return complaint.lead
        return privacy.redact(complaint.lead, complaint)


class EventSchema(Schema):
    seq = fields.Integer()
    action = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    actor = fields.String()
    occurred_at = fields.AwareDateTime()
    data = fields.Method("get_data")
    hash = fields.String()

    def get_data(self, event):
        if ComplaintContext.get()["unmasked"]:
            return event.data
        return privacy.redact(event.data, event.complaint)


class DuplicateSchema(Schema):
    """An earlier complaint about the same source, as intake sees it in the list of candidates."""

    case_no = fields.Function(lambda item: item[0].case_no)
    state = fields.Function(lambda item: item[0].state)
    received_at = fields.Function(lambda item: item[0].received_at.isoformat())
    description = fields.Function(lambda item: privacy.redact(item[0].description, item[0]))
    address = fields.Function(lambda item: privacy.shown_place(item[0]))
    reason = fields.Function(lambda item: item[1])


complaint_schema = ComplaintSchema()
duplicates_schema = DuplicateSchema(many=True)
complaints_schema = ComplaintSchema(many=True)
events_schema = EventSchema(many=True)
complaint_filter_schema = ComplaintFilterSchema()
saved_search_create_schema = SavedSearchCreateSchema()
saved_search_schema = SavedSearchSchema()
saved_searches_schema = SavedSearchSchema(many=True)
