"""What the assessment API reads: filters as query parameters."""

from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ecoflow.rest import PagedQuery, Token

from .services import FIGURES, GROUPS


class Month(fields.Field):
    """2026-11 ↔ 202611."""

    def _deserialize(self, value, attr, data, **kwargs):
        match = re.fullmatch(r"(\d{4})-(\d{2})", value) if isinstance(value, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2999:
            raise ValidationError("月份格式应为 YYYY-MM，例如 2026-11。")
        return int(match.group(1)) * 100 + int(match.group(2))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value // 100:04d}-{value % 100:02d}"


class AssessmentFilterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    bureau = Token(8)
    unit = Token(40)
    officer = Token(64)
    district = Token(40)
    category = Token(20)
    channel = Token(20)
    month = Month()
    from_ = Month(data_key="from")
    to = Month()
    group_by = fields.String(validate=validate.OneOf(GROUPS))


class FigureCasesSchema(AssessmentFilterSchema, PagedQuery):
    figure = fields.String(required=True, validate=validate.OneOf(FIGURES))
    part = fields.String(load_default="denominator", validate=validate.OneOf(["numerator", "denominator", "missed"]))


class FactCaseSchema(Schema):
    case_no = fields.String()
    bureau = fields.String()
    measure = fields.String()
    counted_at = fields.AwareDateTime()
    is_ok = fields.Boolean(allow_none=True)
    level = fields.String()
    seconds = fields.Integer()
    unit = fields.String()
    officer = fields.String()


class HotspotQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    bureau = Token(8)
    window_days = fields.Integer(validate=validate.Range(min=1, max=90))


assessment_filter_schema = AssessmentFilterSchema()
figure_cases_schema = FigureCasesSchema()
fact_cases_schema = FactCaseSchema(many=True)
hotspot_query_schema = HotspotQuerySchema()
