"""信访事项: a formal petition's clocks (workflows/petition.yaml) and the windows of 复查 and 复核
(《信访工作条例》 第三十五、三十六条). Flushes; the caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from ecoflow.complaints.models import Complaint
from ecoflow.errors import ApiError, Conflict
from ecoflow.norm.current import get_norm
from ecoflow.timeutil import SHANGHAI, utcnow

from .clocks import start_clock
from .step import Step

# The level of review each request asks for (Complaint.petition_level once taken), and its name.
LEVELS = {"request_review": (1, "复查"), "request_recheck": (2, "复核")}


def start_decision_clock(complaint: Complaint):
    """At registration: the acceptance decision (受理告知) is due within its days of receipt."""
    norm = get_norm()
    period = norm.petition["clocks"]["petition_decision"]
    start_clock(complaint, "petition_decision", period, complaint.received_at)


def start_petition_clocks(step: Step):
    """受理 starts the closing clock, a 复查 or 复核 request its answer's clock, from now; a request
    raises the case's level of review."""
    complaint = step.complaint
    if not complaint.is_petition:
        return
    if step.action.name in LEVELS:
        complaint.petition_level = LEVELS[step.action.name][0]
    for kind, action in step.norm.petition["starts_on"].items():
        if action == step.action.name:
            start_clock(complaint, kind, step.norm.petition["clocks"][kind], step.now)
            step.record.setdefault("clocks_started", []).append(kind)


def record_answer(step: Step):
    """答复, 复查意见, 复核意见 of a petition: delivered now, the next level's days run from it."""
    if step.complaint.is_petition:
        step.complaint.petition_answered_at = step.now
        step.record["delivered_at"] = step.now.isoformat()


def request_deadline(complaint: Complaint) -> datetime | None:
    """The end of the days within which the petitioner may ask the level above, from the answer's delivery."""
    if complaint.petition_answered_at is None:
        return None
    return get_norm().calendar.add(complaint.petition_answered_at, get_norm().petition["request_within"])


def _local_day(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y年%m月%d日}"


def _refusal(complaint: Complaint, action: str) -> ApiError | None:
    level, name = LEVELS[action]
    if not complaint.is_petition:
        return Conflict(f"只有信访事项可以申请{name}。", code="not_a_petition")
    if complaint.petition_level >= level:
        final = "，复核意见为最终意见" if complaint.petition_level >= 2 else ""
        return Conflict(f"该信访事项已申请过{name}{final}，不能再次申请。", code="already_requested")
    if complaint.petition_level != level - 1:
        return Conflict("复核须在复查意见作出后申请。", code="review_first")
    deadline = request_deadline(complaint)
    if deadline is None:
        return Conflict(f"尚未作出书面答复，不能申请{name}。", code="not_answered")
    if utcnow() >= deadline:
        days = get_norm().petition["request_within"].amount
        last_day = _local_day(deadline - timedelta(seconds=1))
        return Conflict(
            f"{name}申请应当自收到书面答复之日起{days}日内提出。答复于{_local_day(complaint.petition_answered_at)}"
            f"送达，期限已于{last_day}届满，不予受理。",
            {"answered_at": complaint.petition_answered_at.isoformat(), "deadline": deadline.isoformat()},
            code="request_too_late",
        )
    return None


def review_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """申请复查: a petition answered, not reviewed yet, within its days of the answer's delivery."""
    return _refusal(complaint, "request_review")


def recheck_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """申请复核: a petition whose 复查 was answered, within its days of that answer's delivery."""
    return _refusal(complaint, "request_recheck")
