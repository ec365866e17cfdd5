"""What the API reads and writes about officers and units."""

from marshmallow import Schema, fields

from ecoflow.rest import Token


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
