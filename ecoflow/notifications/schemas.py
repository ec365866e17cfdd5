"""What the API reads and writes about notices."""

from marshmallow import EXCLUDE, Schema, fields, validate


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    case_no = fields.String()
    message = fields.String()
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime()


class InboxQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    unread = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


notifications_schema = NotificationSchema(many=True)
inbox_query_schema = InboxQuerySchema()
