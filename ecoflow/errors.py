"""One JSON error shape for the whole API: {"error": code, "message": text, "details": {...}}."""

from __future__ import annotations

import logging

from flask import jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


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


class Invalid(ApiError):
    """Field validation failed; details name each field and what is wrong with it."""

    status, code = 422, "invalid"


def error_response(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify(error=code, message=message, details=details or {})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/exchange/"))


def respond(status: int, code: str, message: str, details: dict | None = None):
    """The error as JSON for the API, as the officer UI's error page for the web pages."""
    if wants_json():
        return error_response(status, code, message, details)
    from .web import render_error

    return render_error(status, message)


def _void_unit_of_work():
    """The request failed: nothing it changed may be written, whoever commits next, and the error
    page may read the database again."""
    from .extensions import db

    db.session.rollback()


def register_errorhandlers(app):
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        _void_unit_of_work()
        return respond(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(StaleDataError)
    def handle_concurrent_write(exc):
        # Someone else changed the same record first.
        _void_unit_of_work()
        log.info("Concurrent write refused on %s %s: %s", request.method, request.path, exc)
        return respond(409, "stale_version", "案件已被他人更新，请刷新后重试。")

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(exc):
        # Mostly a race on a unique key; logged in full, since it can also be a fault.
        _void_unit_of_work()
        log.warning("Integrity error on %s %s: %s", request.method, request.path, exc)
        return respond(409, "conflict", "与同时提交的其他操作冲突，请刷新后重试。")

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not wants_json():
            from .web import render_http_error

            return render_http_error(exc)
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        _void_unit_of_work()
        return respond(500, "internal_error", "服务器内部错误，请稍后重试。")
