"""挂账销号: who answers for a key case on the ledger (its named 包案 leader) and who may strike it off."""

from __future__ import annotations

from ecoflow.complaints.models import Complaint
from ecoflow.errors import ApiError, Conflict, Forbidden
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer


def on_ledger_refusal(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """确定包案领导: only a case on the ledger has one."""
    if not complaint.is_on_ledger:
        return Conflict("只有挂账的重点案件需要确定包案领导。", code="not_on_ledger")
    return None


def is_bureau_leader(officer: Officer, bureau_code: str) -> bool:
    """Holds the bureau leader's role (ladder.yaml's bureau_leader) for the whole bureau, not for one unit."""
    role = get_norm().ladder.parties["bureau_leader"]["role"]
    return role in officer.roles_for(bureau_code, None)


def leader_refusal(actor: Officer, complaint: Complaint, roles: set[str]) -> ApiError | None:
    """下访 of a key case: its 包案 leader, or the bureau's leader."""
    return _not_the_leader(actor, complaint, "下访由包案领导本人或局领导安排")


def strike_off_refusal(actor: Officer, complaint: Complaint, roles: set[str]) -> ApiError | None:
    """销号 of a case with a named 包案 leader: that leader, or the bureau's leader."""
    return _not_the_leader(actor, complaint, "销号须由包案领导本人或局领导确认")


def petition_extension_refusal(actor: Officer, complaint: Complaint, roles: set[str]) -> ApiError | None:
    """A petition's extension (《信访工作条例》第三十五条): the bureau's leader, not a unit's."""
    if complaint.is_petition and not is_bureau_leader(actor, complaint.bureau_code):
        return Forbidden("信访事项的延期须由局领导审批，分局或处室的分管领导不能审批。", code="bureau_leader_only")
    return None


def _not_the_leader(actor: Officer, complaint: Complaint, rule: str) -> ApiError | None:
    leader = complaint.ledger_leader
    if leader is None or leader.id == actor.id or is_bureau_leader(actor, complaint.bureau_code):
        return None
    return Forbidden(
        f"该案件的包案领导为{leader.name}，{rule}。", {"ledger_leader": leader.username}, code="not_ledger_leader"
    )
