"""Public API: a complainant looks up their own case (rate-limited, no account)."""

from flask import Blueprint

from ecoflow.extensions import limiter, lookup_rate_limit
from ecoflow.rest import json_body, load
from ecoflow.timeutil import utcnow

from . import services
from .schemas import lookup_schema

bp = Blueprint("citizens_api", __name__, url_prefix="/api/v1/public")


@bp.post("/lookup")
@limiter.shared_limit(lookup_rate_limit, scope="lookup")
def lookup():
    query = load(lookup_schema, json_body())
    return services.lookup_case(query.get("case_no"), query.get("order_no"), query["phone_last4"], utcnow())
