"""An upload's form fields, and an attachment as the API shows it."""

from marshmallow import RAISE, Schema, fields, validate

from ecoflow.norm.loader import EVIDENCE_KINDS
from ecoflow.rest import Text


class UploadSchema(Schema):
    """The fields of a multipart upload besides `file`."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(EVIDENCE_KINDS))
    caption = Text(200)
    from_complainant = fields.Boolean(load_default=False)


class WithdrawSchema(Schema):
    reason = Text(500, required=True)


class AttachmentSchema(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    kind = fields.String()
    caption = fields.String()
    from_complainant = fields.Boolean(attribute="is_from_complainant")
    created_at = fields.AwareDateTime()
    created_by = fields.Function(lambda a: a.created_by.username if a.created_by else None)
    filename = fields.String()
    event_seq = fields.Integer()  # the action it belongs to, on the case's timeline
    withdrawn_at = fields.AwareDateTime()


upload_schema = UploadSchema()
withdraw_schema = WithdrawSchema()
attachment_schema = AttachmentSchema()
attachments_schema = AttachmentSchema(many=True)
