"""Pages: a petition's notice, printable (信访文书), in the copy for the petitioner or the file's."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ecoflow.casework import access
from ecoflow.complaints import queries
from ecoflow.errors import ApiError
from ecoflow.norm.current import get_norm
from ecoflow.rest import load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed, unit_of_work

from . import documents, receptions
from .schemas import reception_schema, visitor_schema

bp = Blueprint("petitions", __name__)
bp.before_request(login_required(lambda: None))


@bp.app_template_global()
def petition_documents(complaint) -> list:
    """The notices issued on a case, for its page: (document, title)."""
    if not complaint.is_petition:
        return []
    return [(d, documents.title_of(d)) for d in documents.list_documents(complaint)]


@bp.app_template_global()
def case_instructions(complaint) -> list:
    """The leaders' instructions on a case, for its page (领导批示)."""
    return documents.list_instructions(complaint)


@bp.get("/complaints/<case_no>/documents/<int:document_id>")
@committed  # the petitioner's copy names them: that view is on the record
def document(case_no, document_id):
    complaint = queries.get_complaint(current_user, case_no)
    issued = documents.get_document(complaint, document_id)
    # The copy addressed to the petitioner only for those who see them unmasked (logged); the file copy
    # masks them for everyone else, and for anyone who asks for it.
    wanted = request.args.get("copy") != "file"
    addressed = wanted and access.reveal_personal_data(current_user, complaint, "document", utcnow())
    body = documents.render_document(issued, complaint, addressed)
    return render_template(
        "petitions/document.html", document=issued, title=documents.title_of(issued), body=body,
        complaint=complaint, addressed=addressed, issued_on=documents.official_date(issued.issued_at),
    )  # fmt: skip


# --- 接访日 ---------------------------------------------------------------------------------------


@bp.get("/receptions")
@committed  # a visitor shown unmasked is logged
def reception_days():
    """接访日: the leaders' reception days to come, the visitors recorded at each, and the forms to publish
    one and to record a visitor (for who receives visitors)."""
    now = utcnow()
    days = [
        (day, [(v, c, receptions.shown_visitor(current_user, v, c, now)) for v, c in receptions.visitors_of(day)])
        for day in receptions.list_receptions(current_user, now)
    ]
    may_receive = access.holds(current_user, receptions.ROLE_SET, current_user.bureau_code)
    return render_template(
        "petitions/receptions.html", days=days, form=FlaskForm(), may_receive=may_receive,
        types=get_norm().catalog["types"],
    )  # fmt: skip


def _form_text(name: str) -> str | None:
    return (request.form.get(name) or "").strip() or None


def _submitted(work) -> None:
    """Runs `work` as one unit of work; its error is flashed and nothing of it is written."""
    if not FlaskForm().validate_on_submit():
        flash(_("The form has expired; please submit it again."), "error")
        return
    try:
        with unit_of_work():
            work()
    except ApiError as exc:
        flash(" ".join([exc.message, *_leaves(exc.details.get("fields") or {})]), "error")


def _leaves(messages) -> list[str]:
    """The messages of a marshmallow error, without the field names (an officer reads them)."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _leaves(value)]
    if isinstance(messages, list):
        return [text for value in messages for text in _leaves(value)]
    return [str(messages)]


@bp.post("/receptions")
def publish_reception():
    def work():
        data = {k: _form_text(k) for k in ("leader_name", "leader_title", "starts_at", "ends_at", "place")}
        receptions.publish_reception(
            current_user, load(reception_schema, {k: v for k, v in data.items() if v}), utcnow()
        )
        flash(_("The reception day is published."), "success")

    _submitted(work)
    return redirect(url_for(".reception_days"))


@bp.post("/receptions/<int:reception_id>/visitors")
def record_visitor(reception_id):
    def work():
        reception = receptions.get_reception(current_user, reception_id)
        body = {k: _form_text(k) for k in ("name", "phone", "subject", "answer", "case_no")}
        body = {k: v for k, v in body.items() if v}
        if "case_no" not in body:
            body["register"] = {
                "type": request.form.get("type") or "complaint", "description": _form_text("description"),
                "location": {"address": _form_text("address"), "at_home": False},
            }  # fmt: skip
        data = load(visitor_schema(current_app.extensions["ecoflow.schemas"]["create"]), body)
        complaint = receptions.record_visitor(current_user, reception, data, utcnow())[1]
        flash(_("The visitor is recorded (case %(case_no)s).", case_no=complaint.case_no), "success")

    _submitted(work)
    return redirect(url_for(".reception_days"))
