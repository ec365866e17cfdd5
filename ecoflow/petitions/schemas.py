"""The bodies of the 接访 API: a reception day to publish, a visitor to record."""

from marshmallow import RAISE, Schema, fields

from ecoflow.rest import Text
from ecoflow.timeutil import SHANGHAI


class ReceptionSchema(Schema):
    leader_name = Text(50, required=True)
    leader_title = Text(100, required=True)
    starts_at = fields.AwareDateTime(default_timezone=SHANGHAI, required=True)
    ends_at = fields.AwareDateTime(default_timezone=SHANGHAI, required=True)
    place = Text(200, required=True)


def visitor_schema(create_schema: Schema) -> Schema:
    """A visitor: who, what about, the answer on the spot, and either the case it belongs to (`case_no`)
    or the intake's fields of a new `visit` case (`register`; channel and complainant come from here)."""
    intake = type(create_schema)(partial=("channel",), unknown=RAISE)

    class VisitorSchema(Schema):
        name = Text(50, required=True)
        phone = Text(40, load_default=None)
        subject = Text(2000, required=True)
        answer = Text(2000, required=True)
        case_no = Text(40, load_default=None)
        register = fields.Nested(intake, load_default=None)

    return VisitorSchema()


reception_schema = ReceptionSchema()
