"""The doors' common ground: the officers' sessions, CSRF, message catalogues and what every page
shows, and the error handlers (JSON for the API and the exchange, the error page for the officer UI)."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from .casework.access import may_see_page
from .errors import ApiError, error_response, wants_json
from .extensions import babel, csrf, db, login_manager
from .health import scheduler_stopped_since
from .norm import NormError
from .norm.current import get_norm, norm_of
from .notifications.services import unread_count
from .officers.services import load_session_officer
from .timeutil import SHANGHAI, utcnow

log = logging.getLogger(__name__)

# The menu: page (whose roles workflows/access.yaml names), endpoint, label.
MENU = (
    ("workbench", "complaints.workbench", _l("My workbench")),
    ("search", "search.page", _l("Case search")),
    ("intake", "complaints.intake", _l("Register")),
    ("dispatch", "complaints.dispatch", _l("Grade and dispatch")),
    ("supervision", "escalation.board", _l("Supervision")),
    ("transfers", "complaints.transfers", _l("Transfers")),
    ("receptions", "petitions.reception_days", _l("Reception days")),
    ("assessment", "assessment.dashboard", _l("Assessment")),
    ("notifications", "notifications.inbox", _l("Notifications")),
    ("admin", "admin.index", _l("Administration")),
)


# Who sees on every page that the scheduler has stopped (everyone sees it on the 督办 page).
SCHEDULER_WATCHERS = frozenset({"supervisor", "admin"})


def init_web(app: Flask, api_blueprints):
    """Bind login, CSRF and Babel; API blueprints authenticate otherwise (tokens, signatures, keys)
    and, with the public pages, are exempt from CSRF."""
    pages = set(norm_of(app).access["pages"])
    if pages != {page for page, _, _ in MENU}:
        raise NormError(
            "workflows/access.yaml: pages must name each page of the menu once: "
            + ", ".join(page for page, _, _ in MENU)
        )
    app.permanent_session_lifetime = timedelta(seconds=app.config["PERMANENT_SESSION_LIFETIME"])
    login_manager.init_app(app)
    login_manager.login_view = "officers.login"
    login_manager.login_message = _l("Please log in.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_officer)
    csrf.init_app(app)
    for blueprint in api_blueprints:
        csrf.exempt(blueprint)
    babel.init_app(app, locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"])

    stateless = {blueprint.name for blueprint in api_blueprints}

    @app.before_request
    def idle_timeout():
        # A permanent session's cookie is re-issued on every request: it lapses after that long idle.
        # API calls carry no session (nor set its cookie).
        if request.blueprint not in stateless:
            session.permanent = True

    @app.context_processor
    def page_globals():
        if not current_user.is_authenticated:
            return {"menu": [], "norm": get_norm(), "unread": 0}
        menu = [(endpoint, label) for page, endpoint, label in MENU if may_see_page(current_user, page)]
        # The red banner: escalation and delivery have stopped (no scheduler holds the lease).
        watches = request.endpoint == "escalation.board" or bool(SCHEDULER_WATCHERS & current_user.roles)
        stopped = scheduler_stopped_since(utcnow()) if watches else None
        return {"menu": menu, "norm": get_norm(), "unread": unread_count(current_user.id), "scheduler_stopped": stopped}

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for it on every page, the public ones too: the app's own icon, no 404."""
        return redirect(url_for("static", filename="favicon.svg"), 301)

    @app.template_filter("local")
    def local_time(moment, fmt="%Y-%m-%d %H:%M"):
        """A UTC moment as Beijing time."""
        return moment.astimezone(SHANGHAI).strftime(fmt) if moment else ""

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        message = _l("The form has expired or did not come from this site. Reload the page and try again.")
        return render_template("error.html", message=message), 400


def render_error(status: int, message: str):
    """The officer UI's error page."""
    return render_template("error.html", message=message), status


HTTP_ERRORS = {
    404: _l("There is no such page."),
    405: _l("This page does not take that kind of request."),
    413: _l("What was sent is too large."),
    429: _l("Too many tries from this address: wait a minute and try again."),
}


def render_http_error(exc):
    """An HTTP error (unknown page, wrong method ...) as the officer UI's error page."""
    if exc.code not in HTTP_ERRORS:
        return exc
    return render_error(exc.code, HTTP_ERRORS[exc.code])


def respond(status: int, code: str, message: str, details: dict | None = None):
    """The error as JSON for the API, as the officer UI's error page for the web pages."""
    if wants_json():
        return error_response(status, code, message, details)
    return render_error(status, message)


def register_errorhandlers(app: Flask):
    """Every error answered in its one shape; the failed unit of work is rolled back first, so that
    nothing it changed is written and the error page may read the database again."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        db.session.rollback()
        return respond(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(StaleDataError)
    def handle_concurrent_write(exc):
        # Someone else changed the same record first.
        db.session.rollback()
        log.info("Concurrent write refused on %s %s: %s", request.method, request.path, exc)
        return respond(409, "stale_version", "案件已被他人更新，请刷新后重试。")

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(exc):
        # Mostly a race on a unique key; logged in full, since it can also be a fault.
        db.session.rollback()
        log.warning("Integrity error on %s %s: %s", request.method, request.path, exc)
        return respond(409, "conflict", "与同时提交的其他操作冲突，请刷新后重试。")

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not wants_json():
            return render_http_error(exc)
        code = (exc.name or "error").lower().replace(" ", "_")
        message = str(HTTP_ERRORS[exc.code]) if exc.code in HTTP_ERRORS else exc.description or exc.name
        return error_response(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return respond(500, "internal_error", "服务器内部错误，请稍后重试。")
