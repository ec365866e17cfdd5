"""What a hotline centre sends: a batch of orders, each read on its own so that one bad order is
answered as rejected while the others go in."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from ecoflow.complaints.schemas import MOMENT, ComplainantSchema
from ecoflow.rest import Text, Token
from ecoflow.timeutil import SHANGHAI

MAX_ORDERS = 1000


class BatchSchema(Schema):
    class Meta:
        unknown = RAISE

    orders = fields.List(fields.Raw(allow_none=True), required=True, validate=validate.Length(min=1, max=MAX_ORDERS))


def order_schema(norm) -> Schema:
    """One order of the centre, loaded into the fields of register_complaint."""
    types = norm.catalog["types"]
    by_label = {label: code for code, label in types.items()}

    class OrderSchema(Schema):
        class Meta:
            unknown = RAISE

        order_no = Token(64, required=True)
        received_at = fields.AwareDateTime(required=True, default_timezone=SHANGHAI, validate=MOMENT)
        type = fields.String(required=True, validate=validate.OneOf(list(types)))
        content = Text(4000, required=True)
        caller = fields.Nested(ComplainantSchema)
        address = Text(200, required=True)  # the place of the pollution; the caller's home is caller.address
        at_home = fields.Boolean()  # the place is the caller's own home
        district = fields.String(validate=validate.Regexp(r"^[0-9]{6,12}\Z", error="区划代码应为6至12位数字。"))
        lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
        lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
        category = Text(100)  # the centre's own category, kept on the record

        @pre_load
        def type_by_label(self, data, **kwargs):
            """Centres send 投诉/举报/咨询… as often as the codes."""
            if not isinstance(data, dict):
                raise ValidationError("每条工单必须是 JSON 对象。")
            if isinstance(data.get("type"), str) and data["type"] in by_label:
                data = {**data, "type": by_label[data["type"]]}
            return data

    return OrderSchema()


def to_complaint(order: dict, channel: str) -> dict:
    """The fields of register_complaint for a loaded order."""
    location = {k: order[k] for k in ("district", "lat", "lng", "at_home") if k in order}
    data = {
        "channel": channel,
        "external_id": order["order_no"],
        "type": order["type"],
        "description": order["content"],
        "location": {"address": order["address"], **location},
        "received_at": order["received_at"],
    }
    if "caller" in order:
        data["complainant"] = order["caller"]
    if "category" in order:
        data["origin"] = {"centre_category": order["category"]}
    return data


def follow_up_schema(norm) -> Schema:
    """The centre's 回访 result."""

    class FollowUpSchema(Schema):
        class Meta:
            unknown = RAISE

        resolved = fields.Boolean(required=True)
        satisfaction = fields.String(required=True, validate=validate.OneOf(list(norm.catalog["satisfaction"])))
        note = Text(2000)

    return FollowUpSchema()


class UrgeSchema(Schema):
    """The centre's 催办."""

    class Meta:
        unknown = RAISE

    note = Text(2000, required=True)


class ExtensionDecisionSchema(Schema):
    """The centre's decision on the bureau's extension request."""

    class Meta:
        unknown = RAISE

    approved = fields.Boolean(required=True)
    note = Text(2000)


urge_schema = UrgeSchema()
extension_decision_schema = ExtensionDecisionSchema()
