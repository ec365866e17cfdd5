"""Request parsing shared by every API blueprint."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError

from ecoflow.errors import ApiError, Invalid


def json_body() -> dict:
    """The request's JSON object; 400 when the body is not one."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("请求体必须是 JSON 对象。", code="malformed_json")
    return data


def load(schema: Schema, data) -> dict:
    """`data` validated by `schema`; 422 with the messages per field when it is not valid."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid("提交的字段有误。", {"fields": exc.messages}) from None
