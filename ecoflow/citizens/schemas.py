"""What the public lookup reads."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from ecoflow.rest import Token


class LookupSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    case_no = fields.String(
        validate=validate.Regexp(r"^[A-Z]{2}-[0-9]{8}-[0-9]{4,6}\Z", error="受理编号格式应如 BJ-20261122-0001。"),
    )
    order_no = Token(64)  # the hotline centre's order number, which the citizen was given
    phone_last4 = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9]{4}\Z", error="请输入手机号后四位数字。")
    )

    @pre_load
    def trimmed(self, data, **kwargs):
        """Surrounding spaces do not count, nor the case of the letters of a case number."""
        if not isinstance(data, dict):
            return data
        data = {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}
        if isinstance(data.get("case_no"), str):
            data["case_no"] = data["case_no"].upper()
        return {key: value for key, value in data.items() if value != ""}

    @validates_schema
    def one_number(self, data, **kwargs):
        if ("case_no" in data) == ("order_no" in data):
            raise ValidationError("请输入受理编号或热线工单编号（二者选一）。", field_name="case_no")


lookup_schema = LookupSchema()


def survey_answer_schema(norm) -> Schema:
    """The complainant's answer on the survey page: resolved (yes/no), how satisfied, a note."""

    class SurveyAnswerSchema(Schema):
        class Meta:
            unknown = EXCLUDE

        resolved = fields.String(required=True, validate=validate.OneOf(["yes", "no"], error="请选择问题是否解决。"),
                                 error_messages={"required": "请选择问题是否解决。"})  # fmt: skip
        satisfaction = fields.String(
            required=True,
            validate=validate.OneOf(list(norm.catalog["satisfaction"]), error="请选择满意程度。"),
            error_messages={"required": "请选择满意程度。"},
        )
        note = fields.String(validate=validate.Length(max=500, error="意见最多500字。"))

        @pre_load
        def filled(self, data, **kwargs):
            return {key: value.strip() for key, value in data.items() if isinstance(value, str) and value.strip()}

    return SurveyAnswerSchema()
