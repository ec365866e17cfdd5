"""Web pages: the supervision board (督办) and the whistle forms (报到, closing)."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ecoflow.casework.clocks import clock_status
from ecoflow.complaints.queries import pending_extensions
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .forms import CloseWhistleForm, ReportInForm

bp = Blueprint("escalation", __name__, url_prefix="/supervision")
bp.before_request(login_required(lambda: None))


def _by_case(items, case_of) -> list[tuple]:
    """Items grouped by their case, in the order each case first appears: (case, [items])."""
    groups: dict[int, tuple] = {}
    for item in items:
        complaint = case_of(item)
        groups.setdefault(complaint.id, (complaint, []))[1].append(item)
    return list(groups.values())


@bp.get("")
def board():
    now = utcnow()
    # One row per late case, by its worst clock (the longest overdue), the others counted beside it.
    overdue = _by_case(services.overdue_clocks(current_user, now), lambda c: c.complaint)
    return render_template(
        "escalation/board.html",
        overdue=[(clocks[0], len(clocks) - 1) for _complaint, clocks in overdue],
        whistles=_by_case(services.list_whistles(current_user, {"state": "open"}), lambda w: w.complaint),
        ledger=services.ledger(current_user, include_closed=True),
        unvisited=services.unvisited(current_user, now),
        extensions=pending_extensions(current_user),
        report_form=ReportInForm(formdata=None),
        close_form=CloseWhistleForm(formdata=None),
        now=now,
        status=clock_status,
    )


@committed
def _whistle_form(form_class, whistle_id, act):
    whistle = services.get_whistle(current_user, whistle_id)
    form = form_class()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash("；".join(map(str, errors)), "error")
        return redirect(url_for(".board"))
    act(whistle, form)
    flash(_("Saved."), "info")
    return redirect(url_for(".board"))


@bp.post("/whistles/<int:whistle_id>/report-in")
def report_in(whistle_id):
    return _whistle_form(
        ReportInForm, whistle_id, lambda w, f: services.report_in(current_user, w, f.who_will_act.data, utcnow())
    )


@bp.post("/whistles/<int:whistle_id>/close")
def close_whistle(whistle_id):
    return _whistle_form(
        CloseWhistleForm,
        whistle_id,
        lambda w, f: services.close_whistle(current_user, w, f.joint_action.data, utcnow()),
    )
