"""The officers' web pages: sessions, CSRF, message catalogues, and what every page shows."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from .extensions import babel, csrf, login_manager
from .timeutil import SHANGHAI

# The menu: endpoint, label, and the roles that see it (None: everyone).
MENU = (
    ("complaints.workbench", _l("My workbench"), None),
    ("complaints.intake", _l("Register"), {"intake"}),
    ("complaints.dispatch", _l("Grade and dispatch"), {"dispatcher"}),
    ("escalation.board", _l("Supervision"), {"supervisor", "leader", "officer"}),
    ("complaints.transfers", _l("Transfers"), {"intake", "officer", "supervisor", "leader"}),
    ("assessment.dashboard", _l("Assessment"), {"leader", "supervisor", "admin", "coordinator"}),
    ("notifications.inbox", _l("Notifications"), None),
)


def init_web(app: Flask, api_blueprints):
    """Bind login, CSRF and Babel; API blueprints authenticate otherwise (tokens, signatures, keys)
    and, with the public pages, are exempt from CSRF."""
    from .officers.services import load_session_officer

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
        from .norm.current import get_norm
        from .notifications.services import unread_count

        if not current_user.is_authenticated:
            return {"menu": [], "norm": get_norm(), "unread": 0}
        roles = current_user.roles
        menu = [(endpoint, label) for endpoint, label, needs in MENU if needs is None or needs & roles]
        return {"menu": menu, "norm": get_norm(), "unread": unread_count(current_user.id)}

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
}


def render_http_error(exc):
    """An HTTP error (unknown page, wrong method ...) as the officer UI's error page."""
    if exc.code not in HTTP_ERRORS:
        return exc
    return render_error(exc.code, HTTP_ERRORS[exc.code])
