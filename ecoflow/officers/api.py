"""API: tokens, and the units and officers of the caller's bureaus."""

from flask import Blueprint, g, jsonify

from ecoflow.errors import Unauthorized
from ecoflow.extensions import db
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow

from . import services
from .auth import login_required
from .schemas import login_schema, officers_schema, token_schema, units_schema

bp = Blueprint("officers_api", __name__, url_prefix="/api/v1")


@bp.post("/auth/token")
def create_token():
    credentials = load(login_schema, json_body())
    try:
        officer = services.authenticate(credentials["username"], credentials["password"], utcnow())
    except Unauthorized:
        db.session.commit()  # the failure counts toward the lockout
        raise
    db.session.commit()
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
