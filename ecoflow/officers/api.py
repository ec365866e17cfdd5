"""API: tokens, and the units and officers of the caller's bureaus."""

from flask import Blueprint, g, jsonify

from ecoflow.errors import ApiError
from ecoflow.extensions import login_limit
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed, unit_of_work

from . import services
from .auth import login_required
from .schemas import login_schema, officers_schema, password_change_schema, token_schema, units_schema

bp = Blueprint("officers_api", __name__, url_prefix="/api/v1")


@bp.post("/auth/token")
@login_limit
def create_token():
    credentials = load(login_schema, json_body())
    with unit_of_work():  # a failure counts toward the lockout: it is committed too
        try:
            officer, failure = services.authenticate(credentials["username"], credentials["password"], utcnow()), None
        except ApiError as exc:
            failure = exc
    if failure is not None:
        raise failure
    token, expires_at = services.issue_token(officer)
    return token_schema.dump({"token": token, "expires_at": expires_at})


@bp.post("/auth/password")
@login_limit
def change_password():
    """`{username, password, new_password}`: the officer's own new password (a one-time one must be)."""
    data = load(password_change_schema, json_body())
    with unit_of_work():  # a wrong password counts toward the lockout even when the change fails
        try:
            services.change_password(data["username"], data["password"], data["new_password"], utcnow())
            failure = None
        except ApiError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return {"message": "密码已修改，请用新密码登录。"}


@bp.post("/auth/logout")
@login_required
@committed
def logout():
    """Revoke the token this is called with (and every other session and token of the officer)."""
    services.end_sessions_of(g.officer.id)
    return {"message": "已退出。"}


@bp.get("/units")
@login_required
def list_units():
    return jsonify(units_schema.dump(services.list_units(g.officer.bureau_codes)))


@bp.get("/officers")
@login_required
def list_officers():
    return jsonify(officers_schema.dump(services.list_officers(g.officer.bureau_codes)))
