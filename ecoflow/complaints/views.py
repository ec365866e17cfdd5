"""Web pages: the workbench, intake, the dispatch queue, the case and its action forms. Thin: each
parses a form, calls the same services as the JSON API, and renders."""

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from ecoflow.casework import access, clocks, engine, trail
from ecoflow.errors import ApiError, Conflict, Forbidden, Invalid, TooLarge, UnsupportedType
from ecoflow.evidence import services as evidence
from ecoflow.exposure import services as exposure
from ecoflow.norm.current import get_norm
from ecoflow.officers.services import list_units
from ecoflow.rest import load, uploaded_files
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed, unit_of_work

from . import history, leads, privacy, queries, search, timeline
from .forms import ExposureForm, IntakeForm, WorkbenchFilterForm, action_data, action_form, attach_errors, options
from .intake import find_duplicates, register_complaint
from .schemas import ComplaintContext, complaint_schema

bp = Blueprint("complaints", __name__)
bp.before_request(login_required(lambda: None))

for _name in ("mask_name", "mask_phone", "mask_address", "shown_place", "redact"):
    bp.add_app_template_filter(getattr(privacy, _name), _name)


@bp.app_template_global()
def event_label(name: str) -> str:
    """What the timeline calls an event: the action's, the rung's or trail.yaml's title."""
    return timeline.event_title(get_norm(), name)


def _schemas():
    return current_app.extensions["ecoflow.schemas"]


# The workbench shows this many cases, those due first; it says so when there are more.
WORKBENCH_ROWS = 500


@bp.get("/")
def workbench():
    norm = get_norm()
    form = WorkbenchFilterForm(request.args)
    form.state.choices = options(((n, s["label"]) for n, s in norm.states.items()), _("All states"))
    now = utcnow()
    filters = form.data if form.validate() else {}
    rows, counts = queries.workbench(current_user, filters, now, limit=WORKBENCH_ROWS + 1)
    more, rows = len(rows) > WORKBENCH_ROWS, rows[:WORKBENCH_ROWS]
    nearest = {c.id: clocks.nearest_clock(c) for c in rows}
    return render_template(
        "complaints/workbench.html", form=form, rows=rows, clocks=nearest, counts=counts, now=now,
        bulk=FlaskForm(formdata=None),
        status=clocks.clock_status, more=more, saved=search.list_saved_searches(current_user),
    )  # fmt: skip


@bp.route("/complaints/new", methods=["GET", "POST"])
def intake():
    norm = get_norm()
    if not access.bureaus_where(current_user, "registers"):  # said before the form is filled, not after
        message = _("Only %(roles)s register complaints.", roles=access.role_labels("registers"))
        return render_template("error.html", message=message), 403
    files = uploaded_files("evidence_files", norm.evidence.max_bytes) if request.method == "POST" else []
    form = IntakeForm().fill_choices(norm)
    duplicates = []
    if form.is_submitted():
        valid = form.validate()
        try:
            # The API's own checks too, so that every fault is shown at once.
            data = load(_schemas()["create"], form.api_data())
        except Invalid as exc:
            attach_errors(form, exc.details.get("fields", {}), IntakeForm.API_FIELDS)
            valid = False
        if valid and not form.confirmed.data:
            duplicates = find_duplicates(current_user, data, utcnow())
            form.confirmed.data = "1" if duplicates else ""
        if valid and not duplicates:
            try:
                with unit_of_work():
                    now = utcnow()
                    complaint, created = register_complaint(current_user, data, now)
                    if created and files:  # what the complainant sent, with the registration
                        attached = evidence.attach_files(current_user, complaint, files, now, from_complainant=True)
                        evidence.tie_attachments(attached, trail.list_events(complaint)[0])
            except (Invalid, UnsupportedType, TooLarge) as exc:  # e.g. received in the future, a file refused
                attach_errors(form, exc.details.get("fields", {}))
                if not exc.details.get("fields"):
                    form.form_errors.append(exc.message)
            else:
                flash(_("Registered.") if created else _("This source number was registered before."), "info")
                return redirect(url_for(".detail", case_no=complaint.case_no))
    status = 422 if form.errors else 200
    return render_template("complaints/intake.html", form=form, duplicates=duplicates), status


def _choices(complaint_bureaus, action_names) -> dict:
    """The unit and officer pickers, loaded only when one of the actions needs them."""
    norm = get_norm()
    kinds = {spec["type"] for name in action_names for spec in norm.actions[name].fields.values()}
    choices = {}
    if "unit" in kinds:
        choices["unit"] = [(u.code, u.name) for u in list_units(complaint_bureaus)]
    if "officer" in kinds:
        officers = queries.assignable_officers(complaint_bureaus)
        # Grouped by unit, so the dispatcher picks an officer of the unit chosen.
        choices["officer"] = [
            SelectChoice(o.username, o.name, optgroup=o.unit.name if o.unit else _("Bureau")) for o in officers
        ]
    if "leader" in kinds:
        choices["leader"] = [(o.username, o.name) for o in queries.leaders(complaint_bureaus)]
    return choices


@bp.get("/dispatch")
def dispatch():
    norm = get_norm()
    queue = queries.dispatch_queue(current_user)
    choices = _choices({c.bureau_code for c in queue}, ["assign"])
    assign = norm.actions["assign"]
    forms = {
        c.id: action_form(
            assign, norm, choices, formdata=None,
            data={"version": c.version, "grade": c.grade or c.suggestion["grade"],
                  "categories": list(c.categories) or c.suggestion["categories"],
                  "unit": (c.routing or {}).get("unit")},  # 属地: the unit the address routes to
        )
        for c in queue
    }  # fmt: skip
    returns = queries.last_returns(queue)
    return render_template("complaints/dispatch.html", queue=queue, forms=forms, returns=returns, choices=choices,
                           bulk=FlaskForm(formdata=None))  # fmt: skip


def _each(case_nos: list[str], action: str, fields_of) -> tuple[list[str], list[str]]:
    """批量: the action on each case in its own unit of work, each checked and answered on its own;
    returns the cases done and, for the others, why not."""
    done, refused = [], []
    for case_no in dict.fromkeys(case_nos[:BULK_LIMIT]):
        try:
            with unit_of_work():
                complaint = queries.get_complaint(current_user, case_no)
                data = load(_schemas()["actions"][action], fields_of(complaint))
                engine.perform_action(current_user, complaint, action, data, utcnow())
            done.append(case_no)
        except (ApiError, StaleDataError) as exc:
            message = exc.message if isinstance(exc, ApiError) else _("Someone else updated this case first.")
            refused.append(f"{case_no}：{message}")
    return done, refused


def _answer_each(label: str, done: list[str], refused: list[str]):
    if done:
        flash(_("%(action)s: done for %(n)s cases.", action=label, n=len(done)), "info")
    for line in refused:
        flash(line, "error")


# At most this many cases in one bulk action.
BULK_LIMIT = 100


@bp.post("/bulk/sign")
def bulk_sign():
    """批量签收: the officer signs for the cases ticked on the workbench."""
    if FlaskForm().validate_on_submit():
        done, refused = _each(request.form.getlist("cases"), "sign", lambda c: {"version": c.version})
        _answer_each(get_norm().actions["sign"].label, done, refused)
    return redirect(url_for(".workbench"))


@bp.post("/dispatch/bulk")
def bulk_assign():
    """批量派单: the ticked cases to one unit and officer, each with its own (or its suggested) grade."""
    if FlaskForm().validate_on_submit():
        unit, officer = request.form.get("unit", ""), request.form.get("officer", "")

        def fields_of(c):
            return {"version": c.version, "unit": unit, "officer": officer, "grade": c.grade or c.suggestion["grade"],
                    "categories": list(c.categories) or c.suggestion["categories"]}  # fmt: skip

        done, refused = _each(request.form.getlist("cases"), "assign", fields_of)
        _answer_each(get_norm().actions["assign"].label, done, refused)
    return redirect(url_for(".dispatch"))


@bp.get("/transfers")
def transfers():
    sent, received = leads.list_transfers(current_user)
    return render_template("complaints/transfers.html", sent=sent, received=received, now=utcnow())


def _render_case(complaint, failed=None, message=None, status=200):
    """The case page: every field (personal data as the API shows it), the clocks, the timeline,
    the history, and a form for each action the norm allows this officer now."""
    norm, now = get_norm(), utcnow()
    unmasked = access.reveal_personal_data(current_user, complaint, "web", now)
    with ComplaintContext({"viewer": current_user, "unmasked": unmasked, "now": now}):
        shown = complaint_schema.dump(complaint)
    allowed = shown["allowed_actions"]
    choices = _choices([complaint.bureau_code], allowed)
    forms = {}
    for name in allowed:
        if failed is not None and failed[0] == name:
            forms[name] = failed[1]
            forms[name].version.data = complaint.version
        else:
            forms[name] = action_form(
                norm.actions[name], norm, choices, formdata=None, data={"version": complaint.version}
            )
    if "request_extension" in forms:  # in the clock's own kind of day
        running = complaint.running_clock(norm.extension["clock"])
        if running is not None:
            working = running.period_unit == "working_days"
            forms["request_extension"].days.description = _("working days") if working else _("natural days")
    # Notes may repeat the complainant's details: masked as the API's timeline masks them.
    events = [(e, e.data if unmasked else privacy.redact(e.data, complaint)) for e in trail.list_events(complaint)]
    entries = timeline.timeline(complaint, events)
    attachments = [(a, evidence.may_open(current_user, a)) for a in evidence.list_attachments(complaint)]
    attachments_of = {}  # the timeline shows each action's files next to it
    for attachment, shown_to_viewer in attachments:
        attachments_of.setdefault(attachment.event_seq, []).append((attachment, shown_to_viewer))
    page = render_template(
        "complaints/detail.html", complaint=complaint, shown=shown, forms=forms, message=message,
        entries=entries, history=history.complaint_history(current_user, complaint), attachments=attachments,
        media_url=events[0][0].data.get("media_url") if events and unmasked else None,
        steps={e.seq: e.action for e, _data in events}, may_attach=bool(allowed), attachments_of=attachments_of,
        status=clocks.clock_status, now=now, nearest=clocks.nearest_clock,
        publishing=_publishing(complaint),
        lead_due=_moment((complaint.lead or {}).get("reply_due_at")),
    )  # fmt: skip
    return page, status


def _publishing(complaint):
    """宣传曝光 for a supervisor of a closed case: (its exposure or None, the form), else None."""
    if complaint.state != "closed" or not access.role_set("publishes") & access.roles_on(current_user, complaint):
        return None
    return exposure.exposure_of(complaint), ExposureForm(formdata=None)


@bp.post("/complaints/<case_no>/exposure")
@committed
def publish_exposure(case_no):
    complaint = queries.get_complaint(current_user, case_no)
    form = ExposureForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in map(str, errors)), "error")
        return redirect(url_for(".detail", case_no=case_no))
    try:
        with unit_of_work():
            data = {"title": form.title.data, **({"summary": form.summary.data} if form.summary.data else {})}
            exposure.publish_exposure(current_user, complaint, data, utcnow())
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "error")
    else:
        flash(_("Published on the public board."), "info")
    return redirect(url_for(".detail", case_no=case_no))


@bp.post("/complaints/<case_no>/exposure/withdraw")
@committed
def withdraw_exposure(case_no):
    complaint = queries.get_complaint(current_user, case_no)
    published = exposure.exposure_of(complaint)
    if published is not None and FlaskForm().validate_on_submit():  # the CSRF token
        try:
            with unit_of_work():
                exposure.withdraw_exposure(current_user, published, utcnow())
        except (Conflict, Forbidden) as exc:
            flash(exc.message, "error")
        else:
            flash(_("Withdrawn from the public board."), "info")
    return redirect(url_for(".detail", case_no=case_no))


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@bp.get("/complaints/<case_no>")
@committed  # the unmasked view is on the record
def detail(case_no):
    return _render_case(queries.get_complaint(current_user, case_no))


@bp.post("/complaints/<case_no>/actions/<action>")
@committed  # the action; or, refused, the case page again and the unmasked view on the record
def take_action(case_no, action):
    norm = get_norm()
    complaint = queries.get_complaint(current_user, case_no)
    if action not in norm.actions:
        abort(404)
    spec = norm.actions[action]
    files = uploaded_files("evidence_files", norm.evidence.max_bytes)
    form = action_form(spec, norm, _choices([complaint.bureau_code], [action]))
    message = None
    if form.validate_on_submit():
        try:
            with unit_of_work():
                data = load(_schemas()["actions"][action], action_data(form, spec))
                if files:  # uploaded and tied to the action in one step
                    before = complaint.version
                    attached = evidence.attach_files(current_user, complaint, files, utcnow())
                    data["attachments"] = [a.id for a in attached]
                    if data["version"] == before:  # the uploads' own events moved the version on
                        data["version"] = complaint.version
                engine.perform_action(current_user, complaint, action, data, utcnow())
            flash(_("%(action)s: done.", action=spec.label), "info")
            target = url_for(".dispatch") if request.args.get("next") == "dispatch" else None
            return redirect(target or url_for(".detail", case_no=case_no))
        except (Invalid, UnsupportedType, TooLarge) as exc:
            attach_errors(form, exc.details.get("fields", {}))
            if not exc.details.get("fields"):
                form.form_errors.append(exc.message)
        except (Conflict, StaleDataError) as exc:
            message = exc.message if isinstance(exc, Conflict) else _("Someone else updated this case first.")
        complaint = queries.get_complaint(current_user, case_no)
    return _render_case(complaint, (action, form), message, 409 if message else 422)
