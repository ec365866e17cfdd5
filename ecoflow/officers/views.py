"""Web pages: log in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from ecoflow.errors import Unauthorized
from ecoflow.timeutil import utcnow
from ecoflow.transaction import unit_of_work

from . import services
from .forms import LoginForm

bp = Blueprint("officers", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work():  # a failure counts toward the lockout: it is committed too
            try:
                officer, failure = services.authenticate(form.username.data, form.password.data, utcnow()), None
            except Unauthorized as exc:
                failure = exc
        if failure is not None:
            form.password.errors.append(failure.message)
            return render_template("officers/login.html", form=form), 401
        session.clear()  # nothing of the anonymous session carries over
        login_user(officer)
        target = request.args.get("next")  # only a path on this site, never elsewhere
        if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/"):
            target = url_for("complaints.workbench")
        return redirect(target)
    return render_template("officers/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for(".login"))
