"""API: upload a case's attachments, list them, download them, withdraw a wrong one."""

from flask import Blueprint, g, request

from ecoflow.complaints.queries import get_complaint
from ecoflow.errors import Invalid, TooLarge
from ecoflow.norm.current import get_norm
from ecoflow.officers.auth import login_required
from ecoflow.rest import MULTIPART_OVERHEAD, json_body, load
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services
from .schemas import attachment_schema, attachments_schema, upload_schema, withdraw_schema

bp = Blueprint("evidence_api", __name__, url_prefix="/api/v1")


def read_upload():
    """The uploaded file and the other fields of a multipart body, read to disk as they stream in;
    413 naming the limit when the body is larger than the largest kind allows."""
    limit = get_norm().evidence.max_bytes
    request.max_content_length = limit + MULTIPART_OVERHEAD
    if request.content_length and request.content_length > request.max_content_length:
        raise TooLarge(f"上传的文件不能超过 {limit // 1024 // 1024} MB（各类材料的上限见说明）。", {"limit": limit})
    upload = request.files.get("file")
    if upload is None or not request.mimetype.startswith("multipart/"):
        raise Invalid("请以 multipart/form-data 上传文件（字段 file）。", {"fields": {"file": ["缺少文件。"]}})
    return upload, load(upload_schema, request.form.to_dict())


@bp.post("/complaints/<case_no>/attachments")
@login_required
@committed
def upload(case_no):
    complaint = get_complaint(g.officer, case_no)
    services.check_may_attach(g.officer, complaint)
    file, data = read_upload()
    attachment = services.add_attachment(g.officer, complaint, file.stream, file.filename, data, utcnow())
    body = attachment_schema.dump(attachment)
    body["case_version"] = complaint.version  # the `version` an action must now name
    return body, 201


@bp.get("/complaints/<case_no>/attachments")
@login_required
def list_attachments(case_no):
    complaint = get_complaint(g.officer, case_no)
    return {"items": attachments_schema.dump(services.list_attachments(complaint))}


@bp.get("/complaints/<case_no>/attachments/<int:attachment_id>", defaults={"copy": "original"}, endpoint="download")
@bp.get("/complaints/<case_no>/attachments/<int:attachment_id>/thumbnail", defaults={"copy": "thumbnail"},
        endpoint="thumbnail")  # fmt: skip
@login_required
@committed  # a view of the complainant's own file is logged
def open_copy(case_no, attachment_id, copy):
    attachment = services.get_attachment(get_complaint(g.officer, case_no), attachment_id)
    return services.open_attachment(g.officer, attachment, copy, utcnow())


@bp.post("/complaints/<case_no>/attachments/<int:attachment_id>/withdraw")
@login_required
@committed
def withdraw(case_no, attachment_id):
    attachment = services.get_attachment(get_complaint(g.officer, case_no), attachment_id)
    data = load(withdraw_schema, json_body())
    attachment = services.withdraw_attachment(g.officer, attachment, data["reason"], utcnow())
    return attachment_schema.dump(attachment)


@bp.get("/complaints/<case_no>/lead-files/<sha256>")
@login_required
@committed  # the view of the complainant's own file is on the record
def lead_file(case_no, sha256):
    """A file of the lead the case was made of, by the hash the lead states (fetched from the origin)."""
    return services.open_lead_file(g.officer, get_complaint(g.officer, case_no), sha256, utcnow())
