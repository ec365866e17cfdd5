"""The complainant hears back (事事有结果、件件有回音): an SMS at 受理, at 答复 and at 办结, in the words
of workflows/notices.yaml, queued in the action's transaction and sent after it (the outbox)."""

from __future__ import annotations

from flask import current_app

from ecoflow.casework.step import Step
from ecoflow.exchange.outbox import enqueue_sms

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
    )
    enqueue_sms(complaint.bureau_code, complaint.case_no, complaint.complainant_phone, text, moment, step.now)
