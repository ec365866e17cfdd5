"""Web pages: a case's attachments, opened from the case page, and the upload form on it."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ecoflow.complaints.queries import get_complaint
from ecoflow.errors import Invalid
from ecoflow.norm.current import get_norm
from ecoflow.rest import load, uploaded_files
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .schemas import upload_schema

bp = Blueprint("evidence", __name__)
bp.before_request(login_required(lambda: None))


@bp.get("/complaints/<case_no>/attachments/<int:attachment_id>")
@committed  # a view of the complainant's own file is logged
def open_file(case_no, attachment_id):
    attachment = services.get_attachment(get_complaint(current_user, case_no), attachment_id)
    return services.open_attachment(current_user, attachment, "original", utcnow())


@bp.get("/complaints/<case_no>/attachments/<int:attachment_id>/thumbnail")
@committed
def thumbnail(case_no, attachment_id):
    attachment = services.get_attachment(get_complaint(current_user, case_no), attachment_id)
    return services.open_attachment(current_user, attachment, "thumbnail", utcnow())


@bp.get("/complaints/<case_no>/lead-files/<sha256>")
@committed
def lead_file(case_no, sha256):
    """A file of the lead the case was made of, by the hash the lead states (fetched from the origin)."""
    return services.open_lead_file(current_user, get_complaint(current_user, case_no), sha256, utcnow())


@bp.post("/complaints/<case_no>/attachments")
@committed
def upload(case_no):
    """The case page's upload form: one or more files of one kind, with a caption."""
    files = uploaded_files("files", get_norm().evidence.max_bytes)
    complaint = get_complaint(current_user, case_no)
    if not files:
        raise Invalid(_("Choose a file to attach."))
    fields = {k: v for k, v in request.form.items() if k in ("kind", "caption", "from_complainant") and v}
    data = load(upload_schema, fields)
    now = utcnow()
    for stream, name in files:
        services.add_attachment(current_user, complaint, stream, name, data, now)
    flash(_("%(count)s file(s) attached.", count=len(files)), "info")
    return redirect(url_for("complaints.detail", case_no=case_no, _anchor="evidence"))
