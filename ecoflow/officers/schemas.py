"""What the API reads and writes about officers and units."""

from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from ecoflow.rest import PagedQuery, Text, Token, printable
from ecoflow.timeutil import SHANGHAI

MOMENT = validate.Range(
    min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(3000, 1, 1, tzinfo=UTC), error="时间应在 2000 年至 3000 年之间。"
)


class LoginSchema(Schema):
    username = Token(64, required=True)
    password = Token(256, required=True)


class TokenSchema(Schema):
    token = fields.String()
    expires_at = fields.AwareDateTime()


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    bureau = fields.String(attribute="bureau_code")
    district_code = fields.String()


class OfficerSchema(Schema):
    username = fields.String()
    name = fields.String()
    bureau = fields.String(attribute="bureau_code")
    unit = fields.Function(lambda o: o.unit.code if o.unit else None)
    roles = fields.Method("get_roles")

    def get_roles(self, officer):
        return sorted({g.role for g in officer.grants})


login_schema = LoginSchema()
token_schema = TokenSchema()
units_schema = UnitSchema(many=True)
officer_schema = OfficerSchema()
officers_schema = OfficerSchema(many=True)


# --- 管理 ---------------------------------------------------------------------------------------------

_USERNAME = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{1,63}$", error="用户名为 2–64 个小写字母、数字或 . _ -。")
_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,39}$", error="代码为 1–40 个小写字母、数字或 _ -。")
_PHONE = validate.Regexp(r"^[0-9+\-() ]{3,20}$", error="请填写电话号码。")


class RoleGrantSchema(Schema):
    role = Token(20, required=True)
    unit = Token(40, load_default=None, allow_none=True)


class OfficerCreateSchema(Schema):
    username = fields.String(required=True, validate=_USERNAME)
    name = Text(50, required=True)
    phone = fields.String(load_default=None, allow_none=True, validate=_PHONE)
    unit = Token(40, load_default=None, allow_none=True)
    roles = fields.List(fields.Nested(RoleGrantSchema), required=True, validate=validate.Length(min=1, max=20))
    bureau = Token(8, load_default=None, allow_none=True)


class OfficerUpdateSchema(Schema):
    name = Text(50)
    phone = fields.String(allow_none=True, validate=_PHONE)
    unit = Token(40, allow_none=True)
    roles = fields.List(fields.Nested(RoleGrantSchema), validate=validate.Length(min=1, max=20))


class UnitCreateSchema(Schema):
    code = fields.String(required=True, validate=_CODE)
    name = Text(100, required=True)
    leader = Token(64, load_default=None, allow_none=True)
    bureau = Token(8, load_default=None, allow_none=True)


class UnitUpdateSchema(Schema):
    name = Text(100)
    leader = Token(64, allow_none=True)
    active = fields.Boolean()


class BureauQuery(PagedQuery):
    bureau = Token(8, load_default=None)


class PasswordChangeSchema(Schema):
    username = Token(64, required=True)
    password = Token(256, required=True)
    new_password = fields.String(required=True, validate=[validate.Length(min=1, max=256), printable])


class AdminEventSchema(Schema):
    id = fields.Integer()
    bureau = fields.String(attribute="bureau_code")
    at = fields.AwareDateTime()
    actor = fields.Function(lambda e: e.actor.username if e.actor else None)
    action = fields.String()
    target = fields.String()
    before = fields.Raw()
    after = fields.Raw()


class PersonalDataViewQuery(PagedQuery):
    officer = Token(64)
    case_no = Token(24)
    from_ = fields.AwareDateTime(data_key="from", attribute="from", default_timezone=SHANGHAI, validate=MOMENT)
    to = fields.AwareDateTime(default_timezone=SHANGHAI, validate=MOMENT)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


officer_create_schema = OfficerCreateSchema()
officer_update_schema = OfficerUpdateSchema()
unit_create_schema = UnitCreateSchema()
unit_update_schema = UnitUpdateSchema()
bureau_query_schema = BureauQuery()
password_change_schema = PasswordChangeSchema()
admin_events_schema = AdminEventSchema(many=True)
personal_data_view_query = PersonalDataViewQuery()
