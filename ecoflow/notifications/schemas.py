"""What the API reads and writes about notices."""

from marshmallow import Schema, fields

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


notifications_schema = NotificationSchema(many=True)
inbox_query_schema = InboxQuerySchema()
