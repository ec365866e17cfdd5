"""What the exposure API reads and what the public board shows (nothing else leaves)."""

from flask import url_for
from marshmallow import RAISE, Schema, fields, validate

from ecoflow.rest import PagedQuery, Text, Token


class PublishSchema(Schema):
    class Meta:
        unknown = RAISE

    case_no = Token(40, required=True)
    title = Text(100, required=True)
    summary = Text(4000)
    handling = Text(4000)
    # Photos of the case the supervisor chose (attachment ids), shown without their metadata.
    photos = fields.List(fields.Integer(strict=True), validate=validate.Length(max=9))


class PublicExposureSchema(Schema):
    """The public record: scrubbed text, the district, categories and the month; no case number."""

    id = fields.Integer()
    bureau = fields.String(attribute="bureau_code")
    title = fields.String()
    summary = fields.String()
    handling = fields.String()
    district = fields.String()
    categories = fields.String()
    received_month = fields.String()
    published_at = fields.AwareDateTime()
    photos = fields.Method("get_photos")

    def get_photos(self, exposure):
        return [url_for("exposure.photo", exposure_id=exposure.id, number=n, _external=True)
                for n in range(1, len(exposure.photos) + 1)]  # fmt: skip


class BoardQuerySchema(PagedQuery):
    bureau = Token(8)
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))  # a public page


publish_schema = PublishSchema()
public_exposure_schema = PublicExposureSchema()
public_exposures_schema = PublicExposureSchema(many=True)
board_query_schema = BoardQuerySchema()
