"""API: the notices issued on a formal petition (信访文书)."""

from flask import Blueprint, g, url_for

from ecoflow.complaints import queries
from ecoflow.officers.auth import login_required
from ecoflow.transaction import committed

from . import documents

bp = Blueprint("petitions_api", __name__, url_prefix="/api/v1")


@bp.get("/complaints/<case_no>/documents")
@login_required
@committed  # ends the read: on SQLite every transaction holds the write lock until it ends
def list_documents(case_no):
    complaint = queries.get_complaint(g.officer, case_no)
    return {
        "items": [
            {
                "id": d.id,
                "kind": d.kind,
                "title": documents.title_of(d),
                "number": d.number,
                "issued_at": d.issued_at.isoformat(),
                "event_seq": d.event_seq,
                "url": url_for("petitions.document", case_no=complaint.case_no, document_id=d.id, _external=False),
            }
            for d in documents.list_documents(complaint)
        ]
    }
