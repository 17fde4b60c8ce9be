"""Notifications in the portal: the bell with its unread count (polled by htmx), the list, mark read."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import format_date, format_datetime
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal import web
from portal.rendering import render
from portal.services.messaging import notifications, outgoing

bp = Blueprint("inbox", __name__, url_prefix="/notifications")


def _sentence(notice) -> str:  # noqa: ANN001
    return notifications.describe(notice, lambda moment: format_datetime(moment, "short"), format_date)


@bp.get("/")
@login_required
def notification_list() -> Response:
    before = request.args.get("before", type=web.whole_number)
    rows = notifications.inbox(current_user, before_id=before)
    more = len(rows) > notifications.PAGE_SIZE
    rows = rows[: notifications.PAGE_SIZE]
    return render(
        "inbox/list.html",
        block="items",
        rows=[(n, _sentence(n)) for n in rows],
        next_url=url_for("inbox.notification_list", before=rows[-1].id) if more else None,
        unread=notifications.unread_count(current_user),
    )


@bp.get("/bell")
@login_required
def bell() -> Response:
    """The bell alone, for htmx polling."""
    return render("inbox/_bell.html", unread=notifications.unread_count(current_user))


@bp.get("/<int:notification_id>")
@login_required
def open_notification(notification_id: int) -> Response:
    """Mark the notice read and go where it leads."""
    notice = notifications.mark_read(current_user, notification_id)
    if notice is None:
        abort(404)
    return redirect(outgoing.link_for(notice, current_user, external=False), code=303)


@bp.post("/read-all")
@login_required
def mark_all_read() -> Response:
    if FlaskForm().validate_on_submit():
        notifications.mark_all_read(current_user)
    return redirect(url_for("inbox.notification_list"), code=303)


@bp.app_context_processor
def bell_context() -> dict[str, object]:
    """The bell's first count, rendered with every page (one indexed count)."""

    def unread() -> int:
        if not current_user.is_authenticated:
            return 0
        return notifications.unread_count(current_user)

    return {
        "unread_notifications": unread,
        "bell_poll_seconds": current_app.config["NOTIFICATION_POLL_SECONDS"],
    }
