"""Request parsing shared by every API blueprint."""

from __future__ import annotations

import re

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from ecoflow.errors import ApiError, Invalid

# NUL and other control characters break databases and screens (tabs and newlines are text);
# lone surrogates, which JSON can carry, cannot be stored as UTF-8 at all.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


# A code or a number is one line: no tab or line break either.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def is_printable(value: str) -> bool:
    return _UNPRINTABLE.search(value) is None


def printable(value: str):
    """Validator: refuses control characters and lone surrogates."""
    if not is_printable(value):
        raise ValidationError("含有不允许的控制字符。")


def one_line(value: str):
    """Validator: refuses control characters, tabs and line breaks, and lone surrogates."""
    if _NOT_ONE_LINE.search(value):
        raise ValidationError("含有不允许的控制字符或换行。")


class _Trimmed(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def Text(max_length=4000, **kwargs):
    """Free text: trimmed, not empty, printable."""
    return _Trimmed(validate=[validate.Length(min=1, max=max_length), printable], **kwargs)


def Token(max_length=64, **kwargs):
    """A code, name or number: not empty, printable, not trimmed."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), one_line], **kwargs)


class RowId(IntegerConverter):
    """`<int:…>` in a route: a row id as the database keeps it (a 32-bit integer), so that a larger
    number is an unknown page (404) instead of an error in the database."""

    def __init__(self, map, fixed_digits=0, min=1, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class PagedQuery(Schema):
    """The query string of a list: one page of it, 50 items unless asked (at most 200); parameters a
    list does not know are ignored."""

    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


# How deep a request's JSON may nest: the API's and the exchange's bodies need a handful of levels;
# deeper ones would only cost stack in whatever walks them (validation, canonical JSON for signatures).
MAX_JSON_DEPTH = 32


def json_depth(data, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep `data` nests, counted without recursion and not past `limit + 1`."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                return deepest
            stack.extend((item, depth) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


# What a multipart body carries besides its files: boundaries, part headers, the other fields.
MULTIPART_OVERHEAD = 64 * 1024


def uploaded_files(name: str, limit: int, count: int = 10) -> list:
    """The files (at most `count`) a form sends in the input `name`, as (stream, filename), each read
    to a temporary file as it streams in; the body may be up to `limit` bytes (413 beyond). Call it
    before anything reads the form."""
    request.max_content_length = limit + MULTIPART_OVERHEAD
    return [(f.stream, f.filename) for f in request.files.getlist(name) if f.filename][:count]


def json_body() -> dict:
    """The request's JSON object; 413 when the body is over the limit (sent in chunks too), 400 when it
    is not a JSON object or nests deeper than MAX_JSON_DEPTH."""
    raw = request.get_data(cache=True)  # 413 when the Content-Length is over the limit
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()  # a chunked body is cut at the limit: too large, not malformed
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        data = None
    if not isinstance(data, dict):
        raise ApiError("请求体必须是 JSON 对象。", code="malformed_json")
    if json_depth(data) > MAX_JSON_DEPTH:
        raise ApiError(f"请求体嵌套过深（最多 {MAX_JSON_DEPTH} 层）。", code="too_deep")
    return data


def load(schema: Schema, data) -> dict:
    """`data` validated by `schema`; 422 with the messages per field when it is not valid."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid("提交的字段有误。", {"fields": exc.messages}) from None
