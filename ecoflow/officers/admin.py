"""管理: a bureau's administrator keeps its units and officers; every change goes on the bureau's own
audit trail (who, when, what, before and after). Flushes; the door commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ecoflow.complaints.models import Complaint, PersonalDataView
from ecoflow.errors import Conflict, Forbidden, Invalid, NotFound
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm

from .models import AdminEvent, Bureau, Officer, RoleGrant, Unit
from .passwords import one_time_password
from .services import end_sessions, hash_password

# The roles an administrator may grant: every role of the catalog but EcoFlow's own.
NOT_GRANTED = {"system"}


# --- who may --------------------------------------------------------------------------------------


def _bureaus_with(actor: Officer | None, role_set: str) -> set[str]:
    """The bureaus in which the actor holds a role of the set (an operator's command: all of them)."""
    if actor is None:
        return set(get_norm().catalog["bureaus"])
    roles = get_norm().access[role_set]
    return {code for code in actor.bureau_codes if roles & actor.roles_for(code)}


def administered_bureaus(actor: Officer | None) -> list[str]:
    return sorted(_bureaus_with(actor, "administers"))


def trail_bureaus(actor: Officer) -> list[str]:
    """The bureaus whose administration trail the officer may read."""
    return sorted(_bureaus_with(actor, "reads_admin_trail"))


def _check_administers(actor: Officer | None, bureau_code: str):
    if bureau_code not in _bureaus_with(actor, "administers"):
        raise Forbidden("只有本局的管理员可以管理本局的单位和人员。", code="not_administrator")


def choose_bureau(actor: Officer | None, bureau_code: str | None) -> str:
    """The bureau a change is for: the one named, else the administrator's only one."""
    mine = administered_bureaus(actor)
    if bureau_code is None:
        if len(mine) != 1:
            message = "请指定局（bureau）。" if mine else "只有本局的管理员可以管理本局的单位和人员。"
            raise (Invalid(message, {"fields": {"bureau": [message]}}) if mine else Forbidden(message))
        return mine[0]
    _check_administers(actor, bureau_code)
    return bureau_code


# --- the trail ------------------------------------------------------------------------------------


def _record(bureau_code: str, actor: Officer | None, action: str, target: str, before, after, now: datetime):
    db.session.add(
        AdminEvent(
            bureau_code=bureau_code,
            at=now,
            actor_id=actor.id if actor else None,
            action=action,
            target=target,
            before=before,
            after=after,
        )
    )


def admin_trail(actor: Officer, bureau_codes: list[str], page: int, per_page: int) -> tuple[list[AdminEvent], int]:
    """The administration trail of the bureaus (newest first), as far as the actor may read it."""
    allowed = set(trail_bureaus(actor))
    if not allowed or (set(bureau_codes) - allowed):
        raise Forbidden("只有本局的督办员、分管领导和管理员可以查看管理记录。", code="role_not_allowed")
    where = AdminEvent.bureau_code.in_(bureau_codes or allowed)
    total = db.session.scalar(select(func.count()).select_from(AdminEvent).where(where))
    items = db.session.scalars(
        select(AdminEvent)
        .options(joinedload(AdminEvent.actor))
        .where(where)
        .order_by(AdminEvent.at.desc(), AdminEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return items, total


# --- units ----------------------------------------------------------------------------------------


def _unit(bureau_code: str, code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.bureau_code == bureau_code, Unit.code == code))
    if unit is None:
        raise NotFound(f"本局没有代码为 {code} 的单位。", code="unknown_unit")
    return unit


def unit_leader(unit: Unit) -> Officer | None:
    """The unit's 分管领导: the officer holding its `leader` role."""
    return db.session.scalar(
        select(Officer).join(RoleGrant).where(RoleGrant.role == "leader", RoleGrant.unit_id == unit.id).limit(1)
    )


def _unit_snapshot(unit: Unit) -> dict:
    leader = unit_leader(unit)
    return {"name": unit.name, "active": unit.is_active, "leader": leader.username if leader else None}


def list_units(actor: Officer, bureau_code: str | None) -> list[tuple[Unit, Officer | None]]:
    bureau_code = choose_bureau(actor, bureau_code)
    units = db.session.scalars(select(Unit).where(Unit.bureau_code == bureau_code).order_by(Unit.code)).all()
    return [(unit, unit_leader(unit)) for unit in units]


def _set_leader(unit: Unit, username: str | None):
    """The officer (of the unit's bureau) holding the unit's `leader` role; None: nobody."""
    for grant in db.session.scalars(select(RoleGrant).where(RoleGrant.role == "leader", RoleGrant.unit_id == unit.id)):
        db.session.delete(grant)
    if username is None:
        return
    officer = db.session.scalar(select(Officer).where(Officer.username == username))
    if officer is None or officer.bureau_code != unit.bureau_code or not officer.is_active:
        message = f"本局没有在职人员 {username}。"
        raise Invalid(message, {"fields": {"leader": [message]}})
    db.session.add(RoleGrant(officer=officer, role="leader", bureau_code=unit.bureau_code, unit_id=unit.id))


def create_unit(actor: Officer | None, data: dict, now: datetime) -> Unit:
    """A new unit of the bureau (its code unique in the bureau), with its 分管领导 when named."""
    bureau_code = choose_bureau(actor, data.get("bureau"))
    if db.session.scalar(select(Unit.id).where(Unit.bureau_code == bureau_code, Unit.code == data["code"])):
        raise Conflict(
            f"本局已有代码为 {data['code']} 的单位。", {"fields": {"code": ["代码已被使用。"]}}, code="taken"
        )
    unit = Unit(bureau_code=bureau_code, code=data["code"], name=data["name"])
    db.session.add(unit)
    db.session.flush()
    if data.get("leader"):
        _set_leader(unit, data["leader"])
    db.session.flush()
    _record(bureau_code, actor, "create_unit", unit.code, None, _unit_snapshot(unit), now)
    return unit


def _open_cases(*where) -> list[str]:
    final = [name for name, state in get_norm().states.items() if state.get("final")]
    return db.session.scalars(
        select(Complaint.case_no).where(*where, Complaint.state.not_in(final)).order_by(Complaint.case_no).limit(50)
    ).all()


def update_unit(actor: Officer | None, bureau_code: str | None, code: str, data: dict, now: datetime) -> Unit:
    """Rename, set the 分管领导, deactivate (refused while it has open cases, naming them) or reactivate."""
    bureau_code = choose_bureau(actor, bureau_code)
    unit = _unit(bureau_code, code)
    before = _unit_snapshot(unit)
    if "name" in data:
        unit.name = data["name"]
    if "leader" in data:
        _set_leader(unit, data["leader"])
    if data.get("active") is False and unit.is_active:
        cases = _open_cases(Complaint.unit_id == unit.id)
        if cases:
            raise Conflict(
                f"{unit.name}还有未办结的案件：{'、'.join(cases)}。请先改派。", {"cases": cases}, code="has_open_cases"
            )
    if "active" in data:
        unit.is_active = data["active"]
    db.session.flush()
    after = _unit_snapshot(unit)
    if after != before:
        _record(bureau_code, actor, "update_unit", unit.code, before, after, now)
    return unit


# --- officers -------------------------------------------------------------------------------------


def _officer(actor: Officer | None, username: str) -> Officer:
    officer = db.session.scalar(select(Officer).options(joinedload(Officer.grants)).where(Officer.username == username))
    if officer is None:
        raise NotFound(f"没有用户名为 {username} 的人员。", code="unknown_officer")
    _check_administers(actor, officer.bureau_code)
    return officer


def officer_snapshot(officer: Officer) -> dict:
    units = {
        unit.id: unit.code for unit in db.session.scalars(select(Unit).where(Unit.bureau_code == officer.bureau_code))
    }
    return {
        "name": officer.name,
        "phone": officer.phone,
        "unit": units.get(officer.unit_id),
        "roles": sorted(
            ({"role": g.role, "unit": units.get(g.unit_id)} for g in officer.grants),
            key=lambda r: (r["role"], r["unit"] or ""),
        ),
        "active": officer.is_active,
    }


def list_officers(actor: Officer, bureau_code: str | None) -> list[Officer]:
    bureau_code = choose_bureau(actor, bureau_code)
    return (
        db.session.scalars(
            select(Officer)
            .options(joinedload(Officer.grants), joinedload(Officer.unit))
            .where(Officer.bureau_code == bureau_code)
            .order_by(Officer.is_active.desc(), Officer.username)
        )
        .unique()
        .all()
    )


def _unit_id(bureau_code: str, code: str | None, field: str, errors: dict) -> int | None:
    if code is None:
        return None
    unit_id = db.session.scalar(select(Unit.id).where(Unit.bureau_code == bureau_code, Unit.code == code))
    if unit_id is None:
        errors.setdefault(field, []).append(f"本局没有代码为 {code} 的单位。")
    return unit_id


def _grants(bureau_code: str, roles: list[dict], errors: dict) -> list[RoleGrant]:
    """The role grants asked for, each role of the catalog (not EcoFlow's own) and unit of the bureau."""
    known, grants = get_norm().catalog["roles"], []
    for i, entry in enumerate(roles):
        if entry["role"] not in known or entry["role"] in NOT_GRANTED:
            errors.setdefault("roles", {}).setdefault(i, []).append(f"没有名为 {entry['role']} 的角色。")
            continue
        unit_errors: dict = {}
        unit_id = _unit_id(bureau_code, entry.get("unit"), "unit", unit_errors)
        if unit_errors:
            errors.setdefault("roles", {}).setdefault(i, []).extend(unit_errors["unit"])
            continue
        if not any(g.role == entry["role"] and g.unit_id == unit_id for g in grants):
            grants.append(RoleGrant(role=entry["role"], bureau_code=bureau_code, unit_id=unit_id))
    return grants


def create_officer(actor: Officer | None, data: dict, now: datetime) -> tuple[Officer, str]:
    """A new officer of the bureau with a one-time password, to be changed at the first login."""
    bureau_code = choose_bureau(actor, data.get("bureau"))
    errors: dict = {}
    unit_id = _unit_id(bureau_code, data.get("unit"), "unit", errors)
    grants = _grants(bureau_code, data["roles"], errors)
    if errors:
        raise Invalid("提交的字段有误。", {"fields": errors})
    if db.session.scalar(select(Officer.id).where(Officer.username == data["username"])):
        raise Conflict(
            f"用户名 {data['username']} 已被使用。", {"fields": {"username": ["用户名已被使用。"]}}, code="taken"
        )
    password = one_time_password()
    officer = Officer(
        username=data["username"], name=data["name"], phone=data.get("phone"), bureau_code=bureau_code,
        unit_id=unit_id, password_hash=hash_password(password), must_change_password=True, grants=grants,
    )  # fmt: skip
    db.session.add(officer)
    db.session.flush()
    _record(bureau_code, actor, "create_officer", officer.username, None, officer_snapshot(officer), now)
    return officer, password


def update_officer(actor: Officer | None, username: str, data: dict, now: datetime) -> Officer:
    """Change the name, phone, unit or roles (the roles given replace the officer's)."""
    officer = _officer(actor, username)
    before, errors = officer_snapshot(officer), {}
    if "unit" in data:
        unit_id = _unit_id(officer.bureau_code, data["unit"], "unit", errors)
    if "roles" in data:
        grants = _grants(officer.bureau_code, data["roles"], errors)
    if errors:
        raise Invalid("提交的字段有误。", {"fields": errors})
    for field in ("name", "phone"):
        if field in data:
            setattr(officer, field, data[field])
    if "unit" in data:
        officer.unit_id = unit_id
    if "roles" in data:
        kept = {(g.role, g.unit_id): g for g in officer.grants}
        officer.grants = [kept.get((g.role, g.unit_id), g) for g in grants]
    db.session.flush()
    after = officer_snapshot(officer)
    if after != before:
        _record(officer.bureau_code, actor, "update_officer", officer.username, before, after, now)
    return officer


def deactivate_officer(actor: Officer | None, username: str, now: datetime) -> Officer:
    """The officer can no longer log in, and every session and token of theirs ends at once; refused
    while they hold open cases (naming them: re-assign them first)."""
    officer = _officer(actor, username)
    if actor is not None and officer.id == actor.id:
        raise Conflict("不能停用自己的账户。", code="self")
    cases = _open_cases(Complaint.officer_id == officer.id)
    if cases:
        raise Conflict(
            f"{officer.name}还有未办结的案件：{'、'.join(cases)}。请先改派。", {"cases": cases}, code="has_open_cases"
        )
    before = officer_snapshot(officer)
    officer.is_active = False
    end_sessions(officer)
    _record(officer.bureau_code, actor, "deactivate_officer", officer.username, before, officer_snapshot(officer), now)
    return officer


def reactivate_officer(actor: Officer | None, username: str, now: datetime) -> tuple[Officer, str]:
    """A deactivated officer back at work, with a new one-time password."""
    officer = _officer(actor, username)
    before = officer_snapshot(officer)
    officer.is_active = True
    password = _new_one_time_password(officer)
    _record(officer.bureau_code, actor, "reactivate_officer", officer.username, before, officer_snapshot(officer), now)
    return officer, password


def unlock_officer(actor: Officer | None, username: str, now: datetime) -> Officer:
    """Lift a lockout after too many wrong passwords."""
    officer = _officer(actor, username)
    before = {"locked_until": officer.locked_until.isoformat() if officer.locked_until else None}
    officer.failed_logins, officer.locked_until = 0, None
    _record(officer.bureau_code, actor, "unlock_officer", officer.username, before, {"locked_until": None}, now)
    return officer


def _new_one_time_password(officer: Officer) -> str:
    password = one_time_password()
    officer.password_hash = hash_password(password)
    officer.must_change_password = True
    officer.failed_logins, officer.locked_until = 0, None
    end_sessions(officer)
    return password


def reset_password(actor: Officer | None, username: str, now: datetime) -> str:
    """A one-time password that must be changed at the next login; the officer's sessions and tokens end."""
    officer = _officer(actor, username)
    password = _new_one_time_password(officer)
    _record(officer.bureau_code, actor, "reset_password", officer.username, None, None, now)
    return password


# --- the first run --------------------------------------------------------------------------------


def bootstrap(bureau_code: str, username: str, name: str, now: datetime) -> tuple[Officer, str]:
    """A bureau of the catalog and its first administrator, with a one-time password."""
    bureaus = get_norm().catalog["bureaus"]
    if bureau_code not in bureaus:
        raise Invalid(f"workflows/catalog.yaml 中没有局 {bureau_code}。", {"fields": {"bureau": ["未知的局。"]}})
    if db.session.get(Bureau, bureau_code) is None:
        db.session.add(Bureau(code=bureau_code, name=bureaus[bureau_code]))
        db.session.flush()
    data = {"username": username, "name": name, "roles": [{"role": "admin"}], "bureau": bureau_code}
    return create_officer(None, data, now)


# --- 个人信息查阅记录: who opened whose personal data -------------------------------------------------


def purpose_label(purpose: str) -> str:
    """How the page names what an unmasked view was for (the API gives the code)."""
    actions = get_norm().actions
    labels = {
        "register": "登记",
        "view": "查看案件（接口）",
        "web": "查看案件",
        "timeline": "查看办理记录",
        "reception": "接访日查看来访人",
    }
    if purpose in labels:
        return labels[purpose]
    return f"{actions[purpose].label}后查看" if purpose in actions else purpose


def personal_data_views(actor: Officer, filters: dict) -> tuple[list[tuple], int]:
    """The unmasked views of the actor's bureaus' cases, newest first, one page of them: (view,
    officer, case number) each, and how many there are in all."""
    bureaus = trail_bureaus(actor)
    if not bureaus:
        raise Forbidden("只有本局的督办员、分管领导和管理员可以查看个人信息查阅记录。", code="role_not_allowed")
    where = [Complaint.bureau_code.in_(bureaus)]
    if filters.get("officer"):
        where.append(Officer.username == filters["officer"])
    if filters.get("case_no"):
        where.append(Complaint.case_no == filters["case_no"])
    if filters.get("from"):
        where.append(PersonalDataView.viewed_at >= filters["from"])
    if filters.get("to"):
        where.append(PersonalDataView.viewed_at < filters["to"])
    joined = (
        select(PersonalDataView, Officer, Complaint.case_no)
        .join(Officer, Officer.id == PersonalDataView.officer_id)
        .join(Complaint, Complaint.id == PersonalDataView.complaint_id)
        .where(*where)
    )
    total = db.session.scalar(select(func.count()).select_from(joined.subquery()))
    page, per_page = filters["page"], filters["per_page"]
    rows = db.session.execute(
        joined.order_by(PersonalDataView.viewed_at.desc(), PersonalDataView.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [tuple(row) for row in rows], total
