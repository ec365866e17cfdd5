"""The API's machine-readable contract: every route of /api/v1, /open311/v2 and /exchange/v1 is in the
OpenAPI document the app serves, with its body's schema where the door reads one and the errors in
their one shape."""

import re

from flask import current_app


def test_every_route_is_in_the_document_with_its_methods(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.0") and document["info"]["title"] == "EcoFlow API"
    missing = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/", "/open311/v2/", "/exchange/v1/")):
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        assert "<" not in path, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []
    assert len(document["paths"]) > 40


def test_bodies_parameters_and_errors_are_described(client):
    document = client.get("/api/v1/openapi.json").json
    follow_up = document["paths"]["/api/v1/intake/orders/{order_no}/follow-up"]["post"]
    body = follow_up["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    properties = document["components"]["schemas"][body]["properties"]
    assert set(properties) == {"resolved", "satisfaction", "note"}
    assert properties["satisfaction"]["enum"] == ["satisfied", "basically_satisfied", "unsatisfied"]
    assert follow_up["parameters"] == [{"name": "order_no", "in": "path", "required": True,
                                        "schema": {"type": "string"}}]  # fmt: skip
    assert "security" not in follow_up  # the centre's key and signature, not an officer's token
    action = document["paths"]["/api/v1/complaints/{case_no}/actions/{action}"]["post"]
    assert {"$ref": "#/components/schemas/action.reply"} in action["requestBody"]["content"]["application/json"][
        "schema"]["oneOf"]  # fmt: skip
    assert action["security"] == [{"bearer": []}]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message", "details"]
    assert action["responses"]["409"] == {"$ref": "#/components/responses/409"}
    services = document["paths"]["/open311/v2/services.{fmt}"]["get"]
    assert services["parameters"][0]["schema"] == {"type": "string", "enum": ["json", "xml"]}
    not_found = services["responses"]["404"]["content"]["application/json"]["schema"]
    assert not_found == {"$ref": "#/components/schemas/Open311Errors"}
    whistle = document["paths"]["/api/v1/whistles/{whistle_id}"]["get"]
    assert whistle["parameters"][0]["schema"] == {"type": "integer", "minimum": 1}
