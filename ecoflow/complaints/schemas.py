"""What the API reads and writes about complaints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict

from marshmallow import RAISE, Schema, fields, validate
from marshmallow.experimental.context import Context

from ecoflow.casework import access, clocks
from ecoflow.rest import PagedQuery, Text, Token
from ecoflow.timeutil import SHANGHAI

from . import privacy


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
    notify = fields.Boolean(load_default=True)  # false: sends the complainant no SMS


class LocationSchema(StrictSchema):
    address = Text(200, required=True)
    district = fields.String(validate=validate.Regexp(r"^[0-9]{6,12}\Z", error="区划代码应为6至12位数字。"))
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180))


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
        },
        name="ComplaintCreateSchema",
    )(unknown=RAISE)


# --- actions ----------------------------------------------------------------------------------


def _action_field(spec: dict, norm):
    kind, required = spec["type"], spec["required"]
    catalog = norm.catalog
    if kind == "text":
        return Text(4000, required=required)
    if kind in ("unit", "officer", "case_no"):
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


class ComplaintFilterSchema(PagedQuery):
    bureau = Token(8)
    state = Token(20)
    grade = Token(20)
    channel = Token(20)
    category = Token(20)
    unit = Token(40)
    officer = Token(64)
    overdue = fields.Boolean()
    text = Token(100)
    routing_flag = Token(20)
    received_from = fields.AwareDateTime(default_timezone=SHANGHAI, validate=MOMENT)
    received_to = fields.AwareDateTime(default_timezone=SHANGHAI, validate=MOMENT)


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
    unit = fields.Function(lambda c: c.unit.code if c.unit else None)
    officer = fields.Function(lambda c: c.officer.username if c.officer else None)
    merged_into = fields.Function(lambda c: c.merged_into.case_no if c.merged_into_id else None)
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
            "callback_consent": complaint.callback_consent,
            "masked": not unmasked,
        }

    def get_location(self, complaint):
        unmasked = ComplaintContext.get()["unmasked"]
        return {
            "address": complaint.address
            if unmasked
            else privacy.mask_address(complaint.address, complaint.district_code),
            "district": complaint.district_code,
            "lat": complaint.lat if unmasked else privacy.coarsen(complaint.lat),
            "lng": complaint.lng if unmasked else privacy.coarsen(complaint.lng),
        }


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
    address = fields.Function(lambda item: privacy.mask_address(item[0].address, item[0].district_code))
    reason = fields.Function(lambda item: item[1])


complaint_schema = ComplaintSchema()
duplicates_schema = DuplicateSchema(many=True)
complaints_schema = ComplaintSchema(many=True)
events_schema = EventSchema(many=True)
complaint_filter_schema = ComplaintFilterSchema()
