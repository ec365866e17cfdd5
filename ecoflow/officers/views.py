"""Web pages: log in and out, change one's password."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ecoflow.errors import ApiError
from ecoflow.extensions import login_limit
from ecoflow.timeutil import utcnow
from ecoflow.transaction import unit_of_work

from . import services
from .forms import LoginForm, PasswordForm

bp = Blueprint("officers", __name__)


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work():  # a failure counts toward the lockout: it is committed too
            try:
                officer, failure = services.authenticate(form.username.data, form.password.data, utcnow()), None
            except ApiError as exc:
                failure = exc
        if failure is not None and failure.code == "password_change_required":
            flash(_("Your password is a one-time password: choose your own before you go on."), "info")
            return redirect(url_for(".change_password", username=form.username.data))
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


@bp.route("/password", methods=["GET", "POST"])
@login_limit
def change_password():
    """The officer's own new password (a one-time one must be changed here); logged in with it after."""
    form = PasswordForm(username=request.args.get("username", "")[:64])
    if form.validate_on_submit():
        with unit_of_work():  # a wrong password counts toward the lockout even when the change fails
            try:
                officer = services.change_password(
                    form.username.data, form.password.data, form.new_password.data, utcnow()
                )
                failure = None
            except ApiError as exc:
                failure = exc
        if failure is None:
            session.clear()
            login_user(officer)
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("complaints.workbench"))
        field = form.new_password if failure.code == "invalid" else form.password
        field.errors.append(failure.message)
        return render_template("officers/password.html", form=form), 422 if failure.code == "invalid" else 401
    return render_template("officers/password.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    with unit_of_work():  # the session ends on the server too: a copy of its cookie opens nothing
        services.end_sessions_of(current_user.id)
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for(".login"))
