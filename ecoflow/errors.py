"""The errors a client can act on, and their one JSON shape for the whole API and the exchange:
{"error": code, "message": text, "details": {...}}. The handlers that answer with them are in web.py."""

from __future__ import annotations

from flask import jsonify, request


class ApiError(Exception):
    """An error a client can act on; raised by services and views alike."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class TooManyRequests(ApiError):
    status, code = 429, "too_many_requests"


class Invalid(ApiError):
    """Field validation failed; details name each field and what is wrong with it."""

    status, code = 422, "invalid"


def error_response(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify(error=code, message=message, details=details or {})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/exchange/"))


class BadGateway(ApiError):
    """A peer this request needed could not give what was asked (a lead's file)."""

    status, code = 502, "peer_unavailable"


class TooLarge(ApiError):
    """The body (an upload) is larger than its limit; the message names the limit."""

    status, code = 413, "too_large"


class UnsupportedType(ApiError):
    """An upload whose content is not of a type its kind accepts."""

    status, code = 415, "unsupported_type"
