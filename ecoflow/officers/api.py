"""API: tokens, and the units and officers of the caller's bureaus."""

from flask import Blueprint, g, jsonify

from ecoflow.errors import Unauthorized
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import unit_of_work

from . import services
from .auth import login_required
from .schemas import login_schema, officers_schema, token_schema, units_schema

bp = Blueprint("officers_api", __name__, url_prefix="/api/v1")


@bp.post("/auth/token")
def create_token():
    credentials = load(login_schema, json_body())
    with unit_of_work():  # a failure counts toward the lockout: it is committed too
        try:
            officer, failure = services.authenticate(credentials["username"], credentials["password"], utcnow()), None
        except Unauthorized as exc:
            failure = exc
    if failure is not None:
        raise failure
    token, expires_at = services.issue_token(officer)
    return token_schema.dump({"token": token, "expires_at": expires_at})


@bp.get("/units")
@login_required
def list_units():
    return jsonify(units_schema.dump(services.list_units(g.officer.bureau_codes)))


@bp.get("/officers")
@login_required
def list_officers():
    return jsonify(officers_schema.dump(services.list_officers(g.officer.bureau_codes)))
