"""Open311 GeoReport v2 under /open311/v2/, in JSON and XML (wiki.open311.org/GeoReport_v2).
Errors are the spec's list of {code, description}, with the code as the HTTP status."""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Blueprint, Response, json, request, url_for
from werkzeug.exceptions import HTTPException

from ecoflow.casework import trail
from ecoflow.errors import ApiError
from ecoflow.evidence import services as evidence
from ecoflow.extensions import db
from ecoflow.intake.services import client_for_key
from ecoflow.norm.current import get_norm
from ecoflow.rest import uploaded_files
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMAT = "<any(json, xml):fmt>"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-22T00:00:00+08:00"

# The XML element of each list, and of each item in it.
ROOTS = {"services": "service", "service_requests": "request", "errors": "error"}


def _xml_value(parent: Element, name: str, value):
    child = SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(child, key, item)
    elif isinstance(value, list):
        item_name = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
        for item in value:
            _xml_value(child, item_name.get(name, "item"), item)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def render(fmt: str, root: str, body, status: int = 200) -> Response:
    """`body` (a list of items under `root`, or one object named `root`) as JSON or XML."""
    if fmt == "json":
        return Response(json.dumps(body), status, mimetype="application/json")
    element = Element(root)
    if isinstance(body, list):
        for item in body:
            _xml_value(element, ROOTS[root], item)
    else:
        for key, value in body.items():
            _xml_value(element, key, value)
    xml = b'<?xml version="1.0" encoding="UTF-8"?>' + tostring(element, encoding="unicode").encode()
    return Response(xml, status, content_type="text/xml; charset=utf-8")


def _fmt() -> str:
    return (request.view_args or {}).get("fmt") or "json"


@bp.errorhandler(ApiError)
def handle_error(exc: ApiError):
    db.session.rollback()
    status = exc.status if exc.status in (400, 403, 404) else 400
    return render(_fmt(), "errors", [{"code": status, "description": exc.message}], status)


@bp.errorhandler(HTTPException)
def handle_http_error(exc: HTTPException):
    status = exc.code if exc.code in (400, 403, 404) else 400
    return render(_fmt(), "errors", [{"code": status, "description": exc.description or exc.name}], status)


@bp.get(f"/discovery.{FORMAT}")
def discovery(fmt):
    endpoint = {
        "specification": SPECIFICATION,
        "url": url_for(".list_services", fmt="json", _external=True).rsplit("/", 1)[0],
        "changeset": CHANGESET,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    body = {"changeset": CHANGESET, "contact": "12369 环保举报热线", "key_service": "api_key 由受理单位发放",
            "endpoints": [endpoint]}  # fmt: skip
    return render(fmt, "discovery", body)


@bp.get(f"/services.{FORMAT}")
def list_services(fmt):
    bureau = services.jurisdiction(request.args.get("jurisdiction_id"))
    return render(fmt, "services", services.list_services(bureau))


@bp.get(f"/services/<service_code>.{FORMAT}")
def service_definition(service_code, fmt):
    bureau = services.jurisdiction(request.args.get("jurisdiction_id"))
    return render(fmt, "service_definition", services.service_definition(bureau, service_code))


@bp.post(f"/requests.{FORMAT}")
@committed
def create_request(fmt):
    # A photo or video as GeoReport clients send it: a multipart `media` part (media_url is kept as given).
    media = uploaded_files("media", get_norm().evidence.max_bytes, count=1)
    form = request.form
    if not form.get("api_key"):
        raise services.Open311Error(403, "api_key was not provided")
    try:
        client = client_for_key(form["api_key"], ("online",))
    except ApiError:
        raise services.Open311Error(403, "api_key is not valid") from None
    now = utcnow()
    created = services.submit_request(client, form, now)
    if media:  # the citizen's own: personal data, on the registration
        attached = evidence.attach_files(None, created.complaint, media, now)
        evidence.tie_attachments(attached, trail.list_events(created.complaint)[0])
    body = [{"service_request_id": created.complaint.case_no, "token": created.token,
             "service_notice": "", "account_id": form.get("account_id", "")}]  # fmt: skip
    return render(fmt, "service_requests", body, 201)


@bp.get(f"/requests.{FORMAT}")
def list_requests(fmt):
    bureau = services.jurisdiction(request.args.get("jurisdiction_id"))
    return render(fmt, "service_requests", services.list_requests(bureau, request.args, utcnow()))


@bp.get(f"/requests/<service_request_id>.{FORMAT}")
def get_request(service_request_id, fmt):
    bureau = services.jurisdiction(request.args.get("jurisdiction_id"))
    return render(fmt, "service_requests", [services.get_request(bureau, service_request_id)])


@bp.get(f"/tokens/<token>.{FORMAT}")
def get_token(token, fmt):
    services.jurisdiction(request.args.get("jurisdiction_id"))
    return render(fmt, "service_requests", [services.request_for_token(token)])
