"""Who holds which role on a case, who may see it and its complainant, and which actions a caller is
offered: the same rules the engine enforces, so that an action offered is an action accepted. The
role sets come from workflows/access.yaml and lifecycle.yaml."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from sqlalchemy import bindparam, distinct, func, insert, select

from ecoflow.complaints.models import Complaint, PersonalDataView
from ecoflow.errors import ApiError, Conflict, Forbidden
from ecoflow.extensions import db
from ecoflow.intake.models import callback_centre
from ecoflow.norm import Action
from ecoflow.norm.current import get_norm
from ecoflow.notifications.services import notify
from ecoflow.officers.models import Officer, RoleGrant
from ecoflow.timeutil import SHANGHAI

from . import clocks, instructions, ledger, petitions


def roles_on(officer: Officer, complaint: Complaint) -> set[str]:
    """The roles the officer holds for this case (its bureau, and its unit where a role is held for one)."""
    return officer.roles_for(complaint.bureau_code, complaint.unit_id)


def responsible_role() -> str:
    """The role of the named responsible officer (专员包案) a case is assigned to."""
    return get_norm().access["responsible"]


def role_set(name: str) -> frozenset[str]:
    """A role set of workflows/access.yaml, e.g. `bureau_wide`, `registers`."""
    return get_norm().access[name]


def role_labels(name: str) -> str:
    """The roles of a set of workflows/access.yaml as an officer reads them: 督办员、分管领导."""
    labels = get_norm().catalog["roles"]
    return "、".join(labels[role] for role in sorted(role_set(name)))


def holds(officer: Officer, name: str, bureau_code: str) -> bool:
    """Whether the officer holds a role of the set `name` in the bureau."""
    return bool(role_set(name) & officer.roles_for(bureau_code))


def bureaus_where(officer: Officer, name: str) -> list[str]:
    """The officer's bureaus in which they hold a role of the set `name`."""
    return [code for code in officer.bureau_codes if holds(officer, name, code)]


def may_see_page(officer: Officer, page: str) -> bool:
    """Whether the menu shows the page to the officer (workflows/access.yaml, pages)."""
    roles = get_norm().access["pages"][page]
    return roles is None or bool(roles & officer.roles)


def check_can_view(officer: Officer, complaint: Complaint):
    """Refuses a case of a bureau the officer holds no role in."""
    if complaint.bureau_code not in officer.bureau_codes:
        raise Forbidden(f"无权查看其他单位的案件 {complaint.case_no}。", code="other_bureau")


def check_may_register(officer: Officer, bureau_code: str):
    """Refuses registering (and what only registering needs, like checking an address) without the role."""
    if not holds(officer, "registers", bureau_code):
        raise Forbidden(f"没有在 {bureau_code} 登记诉求的权限（需要受理员角色）。", code="role_not_allowed")


# --- actions ----------------------------------------------------------------------------------

Condition = Callable[[Complaint, set[str]], ApiError | None]


def _not_a_lead(message: str) -> Condition:
    def condition(complaint: Complaint, roles: set[str]) -> ApiError | None:
        return Conflict(message, code="use_return_lead") if complaint.is_received_lead else None

    return condition


def _lead_only(complaint: Complaint, roles: set[str]) -> ApiError | None:
    if not complaint.is_received_lead:
        return Conflict("只有兄弟单位移送来的线索可以这样处理。", code="not_a_lead")
    return None


def _lead_unsigned(complaint: Complaint, roles: set[str]) -> ApiError | None:
    if complaint.running_clock("lead_sign") is None:
        return Conflict("该线索已签收。", code="already_signed")
    return None


def _transfer_not_onward(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """A received lead sent on would cut the link its result goes back by."""
    if not complaint.is_received_lead:
        return None
    peer = get_norm().catalog["bureaus"].get(complaint.peer_bureau, complaint.peer_bureau)
    return Conflict(
        f"兄弟单位移送来的线索不能再移送。如污染源不在本辖区，请答复来源单位{peer}（案件 {complaint.peer_case_no}）"
        "说明核查情况，由其另行移送；尚未受理的线索可用“退回线索”退回。",
        code="use_return_lead",
    )


def _follow_up_by_whoever_calls(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """A hotline centre that hears back calls the citizen itself: its 回访 comes in from it, and
    intake registers the 回访 of the other cases, or the complainant answers it through the survey
    link (EcoFlow itself, `system`, takes it for them)."""
    centre = callback_centre(complaint.channel, complaint.bureau_code, complaint.external_id)
    if centre is not None and get_norm().access["centre_account"] not in roles:
        return Conflict(f"该案件由{centre.name}回访，回访结果由热线中心回传。", code="centre_follows_up")
    if centre is None and not role_set("registers") & roles and "system" not in roles:
        return Conflict("该案件的回访由受理员登记。", code="intake_follows_up")
    return None


def _extension_by_whoever_decides(complaint: Complaint, roles: set[str]) -> ApiError | None:
    """A hotline centre that decides extensions itself sends its decision; the bureau's supervisors
    and leaders decide those of every other case, and a centre no others."""
    centre = callback_centre(complaint.channel, complaint.bureau_code, complaint.external_id)
    decides = centre is not None and centre.decides_extensions
    if decides and get_norm().access["centre_account"] not in roles:
        return Conflict(f"该案件的延期申请由{centre.name}审批。", code="centre_decides_extensions")
    if not decides and get_norm().access["centre_account"] in roles:
        return Conflict("该案件的延期申请由本单位审批。", code="bureau_decides_extensions")
    return None


# What the case must be like for an action, beyond its state, the role and the assignee: each
# condition says why not (an error) or nothing. Read before any field, so that the offer knows it.
PRECONDITIONS: dict[str, tuple[Condition, ...]] = {
    "reject": (_not_a_lead("兄弟单位移送的线索不能不予受理，请用“退回线索”并说明理由。"),),
    "merge": (_not_a_lead("兄弟单位移送的线索不能合并，请受理后办理并反馈结果，或在受理前用“退回线索”并说明理由。"),),
    "transfer": (_transfer_not_onward,),
    "sign_lead": (_lead_only, _lead_unsigned),
    "return_lead": (_lead_only,),
    "request_extension": (clocks.request_refusal,),
    "approve_extension": (clocks.approval_refusal, _extension_by_whoever_decides),
    "pause": (clocks.pause_refusal,),
    "resume": (clocks.resume_refusal,),
    "follow_up": (_follow_up_by_whoever_calls,),
    "name_leader": (ledger.on_ledger_refusal,),
    "plan_visit": (ledger.on_ledger_refusal,),
    "record_visit": (ledger.on_ledger_refusal,),
    "instruct": (instructions.instruct_refusal,),
    "report_back": (instructions.report_refusal,),
    "request_review": (petitions.review_refusal,),
    "request_recheck": (petitions.recheck_refusal,),
}


# Conditions that depend on who acts (an officer; EcoFlow itself is never refused by them).
ACTOR_CONDITIONS: dict[str, tuple[Callable[[Officer, Complaint, set[str]], ApiError | None], ...]] = {
    "verify_close": (ledger.strike_off_refusal,),
    "approve_extension": (ledger.petition_extension_refusal,),
    "plan_visit": (ledger.leader_refusal,),
    "record_visit": (ledger.leader_refusal,),
}


def _obstacle(actor: Officer | None, roles: set[str], complaint: Complaint, action: Action) -> str | ApiError | None:
    """The first rule the action breaks: "role", "state", "assignee", a condition's error; or None."""
    if not roles & action.roles:
        return "role"
    if complaint.state not in action.sources:
        return "state"
    if actor is not None and action.assignee_only and complaint.officer_id != actor.id:
        return "assignee"
    for condition in PRECONDITIONS.get(action.name, ()):
        error = condition(complaint, roles)
        if error is not None:
            return error
    for condition in ACTOR_CONDITIONS.get(action.name, ()) if actor is not None else ():
        error = condition(actor, complaint, roles)
        if error is not None:
            return error
    return None


def refusal(actor: Officer | None, complaint: Complaint, action: Action, version: int | None = None) -> ApiError | None:
    """Why `actor` (None: EcoFlow itself, the role `system`) may not take `action` on the case now,
    or None: the role, the `version` the caller saw (when given), the state, the assignee and the
    action's conditions, in that order."""
    norm = get_norm()
    roles = {"system"} if actor is None else roles_on(actor, complaint)
    obstacle = _obstacle(actor, roles, complaint, action)
    if obstacle == "role":
        if actor is None:
            return Forbidden(f"“{action.label}”只能由办理人员执行。", code="role_not_allowed")
        return Forbidden(
            f"“{action.label}”需要以下角色之一：{'、'.join(norm.catalog['roles'][r] for r in sorted(action.roles))}。",
            {"required_roles": sorted(action.roles)},
            code="role_not_allowed",
        )
    if version is not None and version != complaint.version:
        details = {"version": complaint.version, "state": complaint.state}
        return Conflict("案件已被他人更新，请刷新后重试。", details, code="stale_version")
    if obstacle == "state":
        offered = allowed_actions(actor, complaint) if actor else []
        return Conflict(
            f"案件当前状态为“{norm.states[complaint.state]['label']}”（{complaint.state}），不能“{action.label}”。"
            f"可执行的操作：{', '.join(offered) or '无'}。",
            {"state": complaint.state, "allowed_actions": offered},
            code="action_not_allowed",
        )
    if obstacle == "assignee":
        return Forbidden(f"只有本案承办人可以“{action.label}”。", code="not_assignee")
    if isinstance(obstacle, ApiError) and obstacle.code == "no_pending_extension":
        return clocks.why_no_pending(complaint)  # the refused caller is told when the request lapsed
    return obstacle


def allowed_actions(officer: Officer, complaint: Complaint) -> list[str]:
    """The actions this officer may take on this complaint now, in the norm's order: those the
    engine would not refuse before reading their fields."""
    roles = roles_on(officer, complaint)
    return [name for name, action in get_norm().actions.items() if _obstacle(officer, roles, complaint, action) is None]


# --- personal data ----------------------------------------------------------------------------


def may_see_personal_data(officer: Officer, complaint: Complaint) -> bool:
    """Intake sees the complainant; so does the responsible officer, unless dispatched anonymously."""
    if role_set("registers") & roles_on(officer, complaint):
        return True
    return complaint.officer_id == officer.id and not complaint.is_sensitive


def reveal_personal_data(officer: Officer, complaint: Complaint, purpose: str, now: datetime) -> bool:
    """Whether to show this officer the complainant unmasked; every time it is, that is logged."""
    if not may_see_personal_data(officer, complaint):
        return False
    # A plain Core insert, no ORM and no RETURNING: the log is append-only and nothing reads it back here.
    view = {"complaint_id": complaint.id, "officer_id": officer.id, "viewed_at": now, "purpose": purpose}
    connection = db.session.connection()
    if connection.execute(_SEEN_TODAY, {**view, "since": _day_start(now)}).first() is None:
        _flag_unusual_views(officer, complaint, connection, now)
    connection.execute(_LOG_VIEW, view)
    return True


_LOG_VIEW = insert(PersonalDataView.__table__).inline()
_VIEWS = PersonalDataView.__table__.c
_SEEN_TODAY = (
    select(_VIEWS.id)
    .where(
        _VIEWS.officer_id == bindparam("officer_id"),
        _VIEWS.complaint_id == bindparam("complaint_id"),
        _VIEWS.viewed_at >= bindparam("since"),
    )
    .limit(1)
)
_CASES_TODAY = select(func.count(distinct(_VIEWS.complaint_id))).where(
    _VIEWS.officer_id == bindparam("officer_id"), _VIEWS.viewed_at >= bindparam("since")
)


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(SHANGHAI).date(), time(), SHANGHAI)


def _flag_unusual_views(officer: Officer, complaint: Complaint, connection, now: datetime):
    """A case opened unmasked for the first time today: when it takes the officer past the day's
    threshold (access.yaml), the bureau's administrators are told, once that day."""
    threshold = get_norm().access["unusual_unmasked_cases_per_day"]
    cases = connection.execute(_CASES_TODAY, {"officer_id": officer.id, "since": _day_start(now)}).scalar()
    if cases != threshold:  # this case is the one past it
        return
    admins = db.session.scalars(
        select(RoleGrant.officer_id).where(
            RoleGrant.bureau_code == complaint.bureau_code, RoleGrant.role.in_(role_set("administers"))
        )
    ).all()
    message = (
        f"{officer.name}今天已查看 {threshold + 1} 件案件的诉求人完整信息，超过常规数量，请核查（个人信息查阅记录）。"
    )
    notify(set(admins), "personal_data_views", message, None, now)
