"""Web pages: the notification inbox."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ecoflow.norm.current import get_norm
from ecoflow.timeutil import utcnow
from ecoflow.transaction import committed

from . import services

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
bp.before_request(login_required(lambda: None))

PER_PAGE = 50


@bp.get("")
def inbox():
    # At most as far as the API's pages go: no offset past what the database can count.
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100000)
    items, total, unread = services.inbox(current_user.id, False, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    by_kind = services.unread_by_kind(current_user.id)
    return render_template(
        "notifications/inbox.html", items=items, total=total, unread=unread, page=page, pages=pages, form=FlaskForm(),
        by_kind=by_kind, kind_label=kind_label,
    )  # fmt: skip


def kind_label(kind: str) -> str:
    """What the inbox calls a kind of notice: the action's, the rung's or inbox.yaml's label."""
    norm = get_norm()
    if kind in norm.actions:
        return norm.actions[kind].label
    rung = next((r for r in norm.ladder.rungs if r.name == kind), None)
    return rung.label if rung else norm.inbox["kinds"].get(kind, kind)


@bp.post("/read")
@bp.post("/<int:notification_id>/read")
@committed
def mark_read(notification_id=None):
    if FlaskForm().validate_on_submit():
        kind = request.form.get("kind") or None
        services.mark_read(current_user.id, notification_id, utcnow(), kind=kind[:40] if kind else None)
    return redirect(url_for(".inbox"))
