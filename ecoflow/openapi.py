"""The machine-readable contract of the API: GET /api/v1/openapi.json, an OpenAPI 3 document built by
apispec from the app's own routes and the marshmallow schemas the doors load their bodies with."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app

from ecoflow.citizens.schemas import LookupSchema
from ecoflow.complaints.schemas import saved_search_create_schema
from ecoflow.exchange.schemas import BatchSchema as ExchangeBatchSchema
from ecoflow.intake.schemas import BatchSchema as OrderBatchSchema
from ecoflow.intake.schemas import extension_decision_schema, follow_up_schema, urge_schema
from ecoflow.norm.current import get_norm
from ecoflow.petitions.schemas import reception_schema, visitor_schema

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

# The routes the contract covers: the officers' and the systems' API, Open311, the exchange.
PREFIXES = ("/api/v1/", "/open311/v2/", "/exchange/v1/")
# Called without an officer's token: their own key, a signature, or nothing.
OPEN = re.compile(r"^/(open311/v2|exchange/v1)/|^/api/v1/(public/|auth/token$|openapi\.json$|intake/)")

ERRORS = {
    "400": "请求体不是 JSON 对象，或格式错误",
    "401": "未登录、令牌或密钥无效、签名无效或重放",
    "403": "角色或单位无权执行",
    "404": "对象不存在（或对调用者不可见）",
    "409": "当前状态不允许，或版本已过期",
    "413": "请求体过大",
    "422": "字段校验未通过（details.fields）",
    "429": "请求过于频繁",
}


def _bodies() -> dict[str, object]:
    """The request body of each endpoint that reads one with a schema of its own."""
    norm = get_norm()
    schemas = current_app.extensions["ecoflow.schemas"]
    return {
        "complaints_api.create_complaint": schemas["create"],
        "complaints_api.save_search": saved_search_create_schema,
        "intake_api.receive_orders": OrderBatchSchema(),
        "intake_api.follow_up": follow_up_schema(norm),
        "intake_api.urge": urge_schema,
        "intake_api.extension_decision": extension_decision_schema,
        "citizens_api.lookup": LookupSchema(),
        "exchange_peer.receive_batch": ExchangeBatchSchema(),
        "receptions_api.publish_reception": reception_schema,
        "receptions_api.record_visitor": visitor_schema(schemas["create"]),
    }


def build_spec(app: Flask) -> dict:
    """The OpenAPI document of every route under PREFIXES, its path parameters, request body where the
    door reads one with a schema (each action's for the actions), and the errors in the one shape."""
    spec = APISpec(
        title="EcoFlow API", version="1", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=lambda schema: None)],  # nested schemas inline
        info={"description": "京津冀生态环境接诉即办：办理人员、热线中心、Open311 客户端与兄弟单位的接口。"},
    )  # fmt: skip
    spec.components.schema("Error", {
        "type": "object", "required": ["error", "message", "details"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
    })  # fmt: skip
    for status, description in ERRORS.items():
        spec.components.response(status, {"description": description, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})  # fmt: skip
    spec.components.schema("Open311Errors", {"type": "array", "items": {  # GeoReport v2's own error shape
        "type": "object", "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}})  # fmt: skip
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    bodies = _bodies()
    for name, schema in bodies.items():
        spec.components.schema(name, schema=schema)
    for action, schema in app.extensions["ecoflow.schemas"]["actions"].items():
        spec.components.schema(f"action.{action}", schema=schema)

    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIXES):
            continue
        path = VARIABLE.sub(r"{\2}", rule.rule)
        parameters = [_parameter(converter, name) for converter, name in VARIABLE.findall(rule.rule)]
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": (view.__doc__ or rule.endpoint).strip().splitlines()[0],
                "responses": {"200": RESULTS.get(rule.endpoint, {"description": "成功"}), **_errors(rule.rule)},
            }
            if parameters:
                operation["parameters"] = parameters
            if not OPEN.search(rule.rule):
                operation["security"] = [{"bearer": []}]
            if rule.endpoint in bodies:
                operation["requestBody"] = _json({"$ref": f"#/components/schemas/{rule.endpoint}"})
            elif rule.endpoint == "complaints_api.take_action":
                actions = sorted(app.extensions["ecoflow.schemas"]["actions"])
                operation["requestBody"] = _json({"oneOf": [{"$ref": f"#/components/schemas/action.{a}"}
                                                            for a in actions]})  # fmt: skip
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


# The answers described beyond "成功": 案件查询's page and its count.
RESULTS = {
    "complaints_api.list_complaints": {"description": "成功", "content": {"application/json": {"schema": {
        "type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "total": {"type": "integer", "description": "how many cases match; with total_is_lower_bound, "
                      "more than this many (counted exactly up to the server's SEARCH_COUNT_CAP)"},
            "total_is_lower_bound": {"type": "boolean", "description": "true: more than `total` cases match"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"},
        },
    }}}},
}  # fmt: skip

# A variable of a route: <name>, <int:name>, <any(json, xml):name>.
VARIABLE = re.compile(r"<(?:([^:>]+):)?(\w+)>")


def _parameter(converter: str, name: str) -> dict:
    if converter == "int":
        schema = {"type": "integer", "minimum": 1}
    elif converter.startswith("any("):
        schema = {"type": "string", "enum": [v.strip() for v in converter[4:-1].split(",")]}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _errors(rule: str) -> dict:
    if rule.startswith("/open311/"):
        schema = {"$ref": "#/components/schemas/Open311Errors"}
        return {s: {"description": d, "content": {"application/json": {"schema": schema}}}
                for s, d in ERRORS.items() if s in ("400", "403", "404")}  # fmt: skip
    return {s: {"$ref": f"#/components/responses/{s}"} for s in ERRORS}


def _json(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of this API."""
    if "ecoflow.openapi" not in current_app.extensions:
        current_app.extensions["ecoflow.openapi"] = build_spec(current_app)
    return current_app.extensions["ecoflow.openapi"]
