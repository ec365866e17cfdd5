"""Pages: a petition's notice, printable (信访文书), in the copy for the petitioner or the file's."""

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ecoflow.casework import access
from ecoflow.complaints import queries
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import documents

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
