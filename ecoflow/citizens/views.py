"""The public lookup page (zh-CN): case number and the phone's last four digits."""

from flask import Blueprint, render_template, request
from marshmallow import ValidationError

from ecoflow.errors import NotFound
from ecoflow.extensions import limiter, lookup_rate_limit
from ecoflow.timeutil import utcnow

from . import services
from .schemas import lookup_schema

bp = Blueprint("citizens", __name__)


@bp.get("/lookup")
def lookup_form():
    return render_template("citizens/lookup.html", form={}, errors={}, result=None, message=None)


@bp.post("/lookup")
@limiter.shared_limit(lookup_rate_limit, scope="lookup")
def lookup():
    form = {k: request.form.get(k, "").strip() for k in ("case_no", "phone_last4")}
    result = message = None
    errors = {}
    try:
        query = lookup_schema.load(form)
        result = services.lookup_case(query["case_no"], query["phone_last4"], utcnow())
    except ValidationError as exc:
        errors = exc.messages
    except NotFound as exc:
        message = exc.message
    status = 200 if result else (422 if errors else 404)
    return render_template("citizens/lookup.html", form=form, errors=errors, result=result, message=message), status


@bp.errorhandler(429)
def too_many(exc):
    message = "查询过于频繁，请稍后再试。"
    return render_template("citizens/lookup.html", form={}, errors={}, result=None, message=message), 429
