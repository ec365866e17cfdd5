"""What the public lookup reads."""

from marshmallow import EXCLUDE, Schema, fields, validate


class LookupSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    case_no = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{2}-[0-9]{8}-[0-9]{4,6}\Z", error="受理编号格式应如 BJ-20261122-0001。"),
    )
    phone_last4 = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9]{4}\Z", error="请输入手机号后四位数字。")
    )


lookup_schema = LookupSchema()
