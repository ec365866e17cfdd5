"""The public lookup page (zh-CN): case number and the phone's last four digits."""

import re

from flask import Blueprint, render_template, request
from marshmallow import ValidationError

from ecoflow.errors import NotFound
from ecoflow.extensions import limiter, lookup_rate_limit
from ecoflow.timeutil import utcnow

from . import services
from .schemas import lookup_schema

bp = Blueprint("citizens", __name__)
CASE_NO = re.compile(r"^[A-Z]{2}-[0-9]{8}-[0-9]{4,6}\Z")


@bp.get("/lookup")
def lookup_form():
    return render_template("citizens/lookup.html", form={}, errors={}, result=None, message=None)


@bp.post("/lookup")
@limiter.shared_limit(lookup_rate_limit, scope="lookup")
def lookup():
    form = {k: request.form.get(k, "").strip() for k in ("number", "phone_last4")}
    # One box for either number: what reads as a case number is one, anything else an order number.
    kind = "case_no" if CASE_NO.match(form["number"].upper()) else "order_no"
    result = message = None
    errors = {}
    try:
        query = lookup_schema.load({kind: form["number"], "phone_last4": form["phone_last4"]})
        result = services.lookup_case(query.get("case_no"), query.get("order_no"), query["phone_last4"], utcnow())
    except ValidationError as exc:
        errors = {"number" if key in ("case_no", "order_no") else key: value for key, value in exc.messages.items()}
    except NotFound as exc:
        message = exc.message
    status = 200 if result else (422 if errors else 404)
    return render_template("citizens/lookup.html", form=form, errors=errors, result=result, message=message), status


@bp.errorhandler(429)
def too_many(exc):
    message = "查询过于频繁，请稍后再试。"
    return render_template("citizens/lookup.html", form={}, errors={}, result=None, message=message), 429
