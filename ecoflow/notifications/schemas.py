"""What the API reads and writes about notices."""

from marshmallow import Schema, fields, validate

from ecoflow.rest import PagedQuery


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    case_no = fields.String()
    message = fields.String()
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime()


class InboxQuerySchema(PagedQuery):
    unread = fields.Boolean(load_default=False)


class MarkReadQuerySchema(Schema):
    kind = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


notifications_schema = NotificationSchema(many=True)
mark_read_query_schema = MarkReadQuerySchema()
inbox_query_schema = InboxQuerySchema()
