"""What the API reads and writes about the exchange's outbox."""

from marshmallow import EXCLUDE, Schema, fields, validate

from ecoflow.rest import Token


class OutboxMessageSchema(Schema):
    id = fields.String(attribute="message_id")
    type = fields.String()
    sender = fields.String()
    recipient = fields.String()
    case_no = fields.String()
    state = fields.Method("get_state")
    attempts = fields.Integer()
    created_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime()
    last_error = fields.String()

    def get_state(self, message):
        return "failing" if message.state == "queued" and message.attempts else message.state


class ReceivedExposureSchema(Schema):
    bureau = fields.String(attribute="bureau_code")
    case_no = fields.String()
    received_at = fields.AwareDateTime()
    exposure = fields.Dict(attribute="payload")


class OutboxFilterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(validate=validate.OneOf(["queued", "failing", "delivered", "dead"]))
    peer = Token(8)


class BatchSchema(Schema):
    messages = fields.List(fields.Raw(allow_none=True), required=True, validate=validate.Length(min=1, max=1000))


outbox_message_schema = OutboxMessageSchema()
outbox_messages_schema = OutboxMessageSchema(many=True)
outbox_filter_schema = OutboxFilterSchema()
batch_schema = BatchSchema()
received_exposures_schema = ReceivedExposureSchema(many=True)
