"""The complainant hears back (事事有结果、件件有回音): an SMS at 受理, at 答复 and at 办结, in the words
of workflows/notices.yaml, queued in the action's transaction and sent after it (the outbox)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app

from ecoflow.casework.step import Step
from ecoflow.citizens.models import Survey
from ecoflow.exchange.outbox import enqueue_sms
from ecoflow.extensions import db
from ecoflow.intake.models import callback_centre

from .effects import follow_up_outcome

# Action → the moment of notices.yaml it is (the 回访 and the 销号: when they close the case).
MOMENTS = {"accept": "accepted", "reply": "replied", "verify_close": "closed"}


def tell_complainant(step: Step):
    """Queue the SMS of this action to the complainant, unless they asked not to be contacted, are
    anonymous (a sensitive case: their officer contacts them in person), left no phone, or the case
    is a lead from a peer bureau (the origin bureau answers its complainant)."""
    complaint = step.complaint
    moment = follow_up_outcome(step) if step.action.name == "follow_up" else MOMENTS[step.action.name]
    if moment not in step.norm.notices or not complaint.complainant_phone:
        return
    if not complaint.notify_complainant or complaint.is_sensitive or complaint.is_received_lead:
        return
    text = step.norm.notices[moment].format(
        bureau=step.norm.catalog["bureaus"][complaint.bureau_code],
        case_no=complaint.case_no,
        order_no=complaint.external_id or complaint.case_no,
        lookup_url=current_app.config["PUBLIC_LOOKUP_URL"] or "本局诉求办理进度查询页面",
        result=step.data.get("result", ""),
        text=step.data.get("text", ""),
        survey=_survey(step) if moment == "replied" else "",
    )
    enqueue_sms(complaint.bureau_code, complaint.case_no, complaint.complainant_phone, text, moment, step.now)


def survey_token_hash(token: str) -> str:
    """What is kept of a survey link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _survey(step: Step) -> str:
    """满意度评价: where the bureau does the 回访 itself (not a hotline centre that hears back), a new
    single-use link for the complainant to answer it, in the words of notices.yaml's `survey`."""
    complaint = step.complaint
    if callback_centre(complaint.channel, complaint.bureau_code, complaint.external_id) is not None:
        return ""
    days = int(current_app.config["SURVEY_VALID_DAYS"])
    token = secrets.token_urlsafe(16)
    db.session.add(Survey(
        token_hash=survey_token_hash(token), complaint_id=complaint.id, created_at=step.now,
        expires_at=step.now + timedelta(days=days),
    ))  # fmt: skip
    url = f"{(current_app.config['PUBLIC_URL'] or '').rstrip('/')}/s/{token}"
    return step.norm.notices["survey"].format(survey_url=url, survey_days=days)
