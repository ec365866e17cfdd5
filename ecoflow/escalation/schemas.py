"""What the API reads and writes about whistles and the supervision board."""

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from ecoflow.complaints.privacy import redact
from ecoflow.rest import Text, Token

# Officers' text on the board may repeat the complainant's details: masked, as on a masked timeline.


class PartySchema(Schema):
    party = fields.String()
    bureau = fields.String(attribute="bureau_code")
    unit = fields.Function(lambda p: p.unit.code if p.unit else None)
    level = fields.Integer()
    summoned_at = fields.AwareDateTime()
    report_by = fields.AwareDateTime()
    reported_at = fields.AwareDateTime()
    who_will_act = fields.Function(lambda p: redact(p.who_will_act, p.whistle.complaint))


class WhistleSchema(Schema):
    id = fields.Integer()
    case_no = fields.String(attribute="complaint.case_no")
    reason = fields.Function(lambda w: redact(w.reason, w.complaint))
    blown_at = fields.AwareDateTime()
    by_ladder = fields.Function(lambda w: w.blown_by_id is None)
    level = fields.Integer()
    escalate_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime()
    joint_action = fields.Function(lambda w: redact(w.joint_action, w.complaint))
    parties = fields.List(fields.Nested(PartySchema))


class WhistleFilterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(validate=validate.OneOf(["open", "closed", "all"]), load_default="all")
    case_no = Token(24)
    unreported = fields.Boolean(load_default=False)


class ReportInSchema(Schema):
    class Meta:
        unknown = RAISE

    who_will_act = Text(1000, required=True)


class CloseWhistleSchema(Schema):
    class Meta:
        unknown = RAISE

    joint_action = Text(4000, required=True)


class OverdueSchema(Schema):
    case_no = fields.String(attribute="complaint.case_no")
    state = fields.String(attribute="complaint.state")
    grade = fields.String(attribute="complaint.grade")
    unit = fields.Function(lambda c: c.complaint.unit.code if c.complaint.unit else None)
    officer = fields.Function(lambda c: c.complaint.officer.username if c.complaint.officer else None)
    clock = fields.String(attribute="kind")
    due_at = fields.AwareDateTime()
    rung = fields.String()


class LedgerSchema(Schema):
    """A ledger entry (services.LedgerEntry): the key case and its 包案 leaders."""

    case_no = fields.String(attribute="complaint.case_no")
    state = fields.String(attribute="complaint.state")
    grade = fields.String(attribute="complaint.grade")
    unit = fields.Function(lambda e: e.complaint.unit.code if e.complaint.unit else None)
    officer = fields.Function(lambda e: e.complaint.officer.username if e.complaint.officer else None)
    received_at = fields.AwareDateTime(attribute="complaint.received_at")
    closed_at = fields.AwareDateTime(attribute="complaint.closed_at")
    leaders = fields.Function(lambda e: [o.username for o in e.leaders])


whistle_schema = WhistleSchema()
whistles_schema = WhistleSchema(many=True)
whistle_filter_schema = WhistleFilterSchema()
report_in_schema = ReportInSchema()
close_whistle_schema = CloseWhistleSchema()
overdue_schema = OverdueSchema(many=True)
ledger_schema = LedgerSchema(many=True)
