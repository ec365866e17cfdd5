"""Web pages: 管理, a bureau's units and officers, and the trail of what its administrators changed."""

from datetime import date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ecoflow.errors import ApiError, Forbidden
from ecoflow.norm.current import get_norm
from ecoflow.timeutil import SHANGHAI, utcnow
from ecoflow.transaction import unit_of_work

from . import admin, services
from .admin_api import CSV_MAX_ROWS, csv_response, view_item
from .forms import OfficerEditForm, OfficerForm, UnitEditForm, UnitForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(login_required(lambda: None))

ACTIONS = {
    "create_unit": "新建单位",
    "update_unit": "修改单位",
    "create_officer": "新建人员",
    "update_officer": "修改人员",
    "deactivate_officer": "停用人员",
    "reactivate_officer": "恢复人员",
    "unlock_officer": "解除锁定",
    "reset_password": "重置密码",
}


CHANGED = {"name": "名称", "phone": "电话", "unit": "单位", "roles": "角色", "active": "状态", "leader": "分管领导",
           "locked_until": "锁定至"}  # fmt: skip


@bp.app_template_filter("change_label")
def change_label(key: str) -> str:
    return CHANGED.get(key, key)


@bp.app_template_filter("change_value")
def change_value(value) -> str:
    """A value of the administration record as the page shows it."""
    roles = get_norm().catalog["roles"]
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "在用" if value else "停用"
    if isinstance(value, list):
        return "、".join(roles.get(r["role"], r["role"]) + (f"（{r['unit']}）" if r.get("unit") else "") for r in value)
    return str(value)


def _bureau() -> str:
    mine = admin.administered_bureaus(current_user)
    if not mine:
        raise Forbidden(_("Only the bureau's administrator manages its units and officers."))
    asked = request.args.get("bureau")
    return asked if asked in mine else mine[0]


def _role_choices():
    roles = get_norm().catalog["roles"]
    return [(code, label) for code, label in roles.items() if code not in admin.NOT_GRANTED]


def _fill_choices(form, bureau: str):
    units = [(u.code, u.name) for u, _leader in admin.list_units(current_user, bureau) if u.is_active]
    if hasattr(form, "unit"):
        form.unit.choices = [("", _("(none)")), *units]
    if hasattr(form, "roles"):
        form.roles.choices = _role_choices()
    if hasattr(form, "leader"):
        officers = [(o.username, o.name) for o in admin.list_officers(current_user, bureau) if o.is_active]
        form.leader.choices = [("", _("(none)")), *officers]


def _attempt(change):
    """Run `change` as one unit of work; the error it raised (nothing written), or None."""
    try:
        with unit_of_work():
            return change(), None
    except ApiError as exc:
        return None, exc


def _field_errors(form, error: ApiError):
    fields = error.details.get("fields", {})
    for name, messages in fields.items():
        if name in form and isinstance(messages, list):
            form[name].errors = [*form[name].errors, *messages]
        elif isinstance(messages, dict):  # per role
            form["roles"].errors = [*form["roles"].errors, *(m for ms in messages.values() for m in ms)]
    if not fields:
        flash(error.message, "error")


@bp.get("")
def index():
    trail_bureaus = admin.trail_bureaus(current_user)
    if not trail_bureaus:
        raise Forbidden(_("Only the bureau's supervisor, leader and administrator see this page."))
    events, _total = admin.admin_trail(current_user, trail_bureaus, 1, 50)
    context = {"events": events, "actions": ACTIONS, "units": [], "officers": [], "now": utcnow()}
    if admin.administered_bureaus(current_user):
        bureau = _bureau()
        unit_form, officer_form = UnitForm(prefix="unit"), OfficerForm(prefix="officer")
        _fill_choices(unit_form, bureau)
        _fill_choices(officer_form, bureau)
        units, officers = admin.list_units(current_user, bureau), admin.list_officers(current_user, bureau)
        context.update(bureau=bureau, units=units, officers=officers, unit_form=unit_form, officer_form=officer_form)
    return render_template("officers/admin.html", **context)


@bp.post("/units")
def create_unit():
    bureau = _bureau()
    form = UnitForm(prefix="unit")
    _fill_choices(form, bureau)
    if form.validate_on_submit():
        data = {"code": form.code.data.strip(), "name": form.name.data.strip(), "leader": form.leader.data or None}
        unit, error = _attempt(lambda: admin.create_unit(current_user, {**data, "bureau": bureau}, utcnow()))
        if error is None:
            flash(_("Unit %(name)s created.", name=unit.name), "info")
            return redirect(url_for(".index", bureau=bureau))
        _field_errors(form, error)
    return render_template("officers/admin_form.html", form=form, title=_("New unit")), 422


@bp.route("/units/<code>", methods=["GET", "POST"])
def edit_unit(code):
    bureau = _bureau()
    units = {u.code: (u, leader) for u, leader in admin.list_units(current_user, bureau)}
    if code not in units:
        raise Forbidden(_("There is no such unit in your bureau."))
    unit, leader = units[code]
    form = UnitEditForm(obj=unit, leader=leader.username if leader else "")
    _fill_choices(form, bureau)
    if form.validate_on_submit():
        data = {"name": form.name.data.strip(), "leader": form.leader.data or None}
        if "active" in request.form:
            data = {"active": request.form["active"] == "1"}
        _unit, error = _attempt(lambda: admin.update_unit(current_user, bureau, code, data, utcnow()))
        if error is None:
            flash(_("Unit %(name)s saved.", name=unit.name), "info")
            return redirect(url_for(".index", bureau=bureau))
        _field_errors(form, error)
    return render_template("officers/admin_unit.html", form=form, unit=unit, bureau=bureau)


@bp.post("/officers")
def create_officer():
    bureau = _bureau()
    form = OfficerForm(prefix="officer")
    _fill_choices(form, bureau)
    if form.validate_on_submit():
        data = {
            "username": form.username.data.strip(), "name": form.name.data.strip(),
            "phone": form.phone.data.strip() or None, "unit": form.unit.data or None,
            "roles": [{"role": role} for role in form.roles.data], "bureau": bureau,
        }  # fmt: skip
        result, error = _attempt(lambda: admin.create_officer(current_user, data, utcnow()))
        if error is None:
            officer, password = result
            return render_template("officers/admin_password.html", officer=officer, password=password, bureau=bureau)
        _field_errors(form, error)
    return render_template("officers/admin_form.html", form=form, title=_("New officer")), 422


@bp.route("/officers/<username>", methods=["GET", "POST"])
def edit_officer(username):
    bureau = _bureau()
    officers = {o.username: o for o in admin.list_officers(current_user, bureau)}
    if username not in officers:
        raise Forbidden(_("There is no such officer in your bureau."))
    officer = officers[username]
    units = {u.id: u.code for u, _leader in admin.list_units(current_user, bureau)}
    form = OfficerEditForm(
        obj=officer,
        unit=units.get(officer.unit_id, ""),
        roles=sorted({g.role for g in officer.grants if g.unit_id is None}),
    )
    _fill_choices(form, bureau)
    if form.validate_on_submit():
        unit_roles = [{"role": g.role, "unit": units[g.unit_id]} for g in officer.grants if g.unit_id is not None]
        data = {
            "name": form.name.data.strip(), "phone": form.phone.data.strip() or None, "unit": form.unit.data or None,
            "roles": [*({"role": role} for role in form.roles.data), *unit_roles],
        }  # fmt: skip
        _officer, error = _attempt(lambda: admin.update_officer(current_user, username, data, utcnow()))
        if error is None:
            flash(_("%(name)s saved.", name=data["name"]), "info")
            return redirect(url_for(".index", bureau=bureau))
        _field_errors(form, error)
    return render_template("officers/admin_officer.html", form=form, officer=officer, bureau=bureau, now=utcnow())


@bp.post("/officers/<username>/<any(deactivate, unlock, 'reset-password', reactivate):change>")
def change_officer(username, change):
    bureau = _bureau()
    if not FlaskForm().validate_on_submit():
        return redirect(url_for(".edit_officer", username=username, bureau=bureau))
    services = {
        "deactivate": admin.deactivate_officer,
        "unlock": admin.unlock_officer,
        "reset-password": admin.reset_password,
        "reactivate": admin.reactivate_officer,
    }
    result, error = _attempt(lambda: services[change](current_user, username, utcnow()))
    if error is not None:
        flash(error.message, "error")
        return redirect(url_for(".edit_officer", username=username, bureau=bureau))
    if change in ("reset-password", "reactivate"):
        password = result if change == "reset-password" else result[1]
        officer = {o.username: o for o in admin.list_officers(current_user, bureau)}[username]
        return render_template("officers/admin_password.html", officer=officer, password=password, bureau=bureau)
    flash(_("Done."), "info")
    return redirect(url_for(".index", bureau=bureau))


PER_PAGE = 50


@bp.get("/personal-data-views")
def personal_data_views():
    """个人信息查阅记录: who opened which case's complainant unmasked, when, for what."""
    args = request.args
    start, end = _day(args.get("from")), _day(args.get("to"))
    query = {
        "officer": args.get("officer") or None, "case_no": (args.get("case_no") or "").strip() or None,
        "from": start, "to": end + timedelta(days=1) if end else None,
        "page": min(max(1, args.get("page", 1, type=int) or 1), 100000), "per_page": PER_PAGE,
    }  # fmt: skip
    if args.get("format") == "csv":
        rows, _total = admin.personal_data_views(current_user, {**query, "page": 1, "per_page": CSV_MAX_ROWS})
        return csv_response([view_item(*row) for row in rows])
    rows, total = admin.personal_data_views(current_user, query)
    filters = {key: args[key] for key in ("officer", "case_no", "from", "to") if args.get(key)}
    officers = services.list_officers(admin.trail_bureaus(current_user))
    return render_template(
        "officers/personal_data_views.html", rows=rows, total=total, page=query["page"],
        pages=max(1, -(-total // PER_PAGE)), officers=officers, purpose_label=admin.purpose_label, args=args,
        filters=filters,
    )  # fmt: skip


def _day(value: str | None) -> datetime | None:
    """A date of the filter form (YYYY-MM-DD) as the start of that day in Beijing; None when empty or not a date."""
    try:
        return datetime.combine(date.fromisoformat(value), time(), SHANGHAI) if value else None
    except ValueError:
        return None
