"""The public lookup page (zh-CN): case number and the phone's last four digits."""

import re

from flask import Blueprint, render_template, request
from marshmallow import ValidationError

from ecoflow.casework.engine import perform_action
from ecoflow.errors import Conflict, NotFound
from ecoflow.extensions import db, limiter, lookup_rate_limit
from ecoflow.norm.current import get_norm
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .schemas import lookup_schema, survey_answer_schema

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


# --- 满意度评价 ----------------------------------------------------------------------------------

SURVEY_STATUS = {"unknown": 404, "used": 410, "expired": 410, "done": 410}


def _closed(exc: services.SurveyClosed):
    return render_template("citizens/survey.html", closed=exc, survey=None, form={}, errors={}), SURVEY_STATUS[
        exc.reason
    ]


@bp.get("/s/<token>")
def survey_form(token):
    """The survey link of the 答复 SMS: is the problem resolved, how satisfied the complainant is."""
    try:
        survey = services.open_survey(token, utcnow())
    except services.SurveyClosed as exc:
        return _closed(exc)
    return render_template("citizens/survey.html", closed=None, survey=services.survey_view(survey), form={},
                           errors={}, satisfaction=get_norm().catalog["satisfaction"])  # fmt: skip


@bp.post("/s/<token>")
@committed
def survey_answer(token):
    """The complainant's answer: the `follow_up` action, taken once for them (by EcoFlow, `system`)."""
    now = utcnow()
    try:
        survey = services.open_survey(token, now)
        form = {k: request.form.get(k, "") for k in ("resolved", "satisfaction", "note")}
        try:
            data = survey_answer_schema(get_norm()).load(form)
        except ValidationError as exc:
            page = render_template(
                "citizens/survey.html", closed=None, survey=services.survey_view(survey), form=form,
                errors=exc.messages, satisfaction=get_norm().catalog["satisfaction"],
            )  # fmt: skip
            return page, 422
        services.use_survey(survey, now)
        answer = {"resolved": data["resolved"] == "yes", "satisfaction": data["satisfaction"], "by": "complainant"}
        if data.get("note"):
            answer["note"] = data["note"]
        try:
            complaint = perform_action(None, survey.complaint, "follow_up", answer, now)
        except Conflict:  # answered otherwise meanwhile
            raise services.SurveyClosed("done") from None
    except services.SurveyClosed as exc:
        db.session.rollback()  # nothing of a refused answer stays
        return _closed(exc)
    return render_template("citizens/survey.html", closed=None, survey=None, done=complaint.state, form={}, errors={})
