"""Unmatched mail: what came to the service address and matched no request — from a stranger, with a
forged sender, or unreadable — for the leads to read, download and put aside (managers and admins read)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from portal import permissions, web
from portal.access import allowed_by
from portal.internal import bp
from portal.models import InboundMail
from portal.rendering import render, sends_file
from portal.services.messaging import inbound, unmatched
from portal.services.storage import FileUnreadable
from portal.uploads import file_store

reviewer_required = allowed_by(permissions.can_review_mail)


def _mail_or_404(mail_id: int) -> InboundMail:
    mail = unmatched.find(mail_id)
    if mail is None:
        abort(404)
    return mail


@bp.get("/mail")
@reviewer_required
def unmatched_mail():
    before = request.args.get("before", type=web.whole_number)
    rows, total, more = unmatched.waiting(before)
    return render("internal/mail_list.html", rows=rows, total=total, more=more, before=before)


@bp.get("/mail/<int:mail_id>")
@reviewer_required
def mail_detail(mail_id: int):
    mail = _mail_or_404(mail_id)
    try:
        shown = inbound.read_back(file_store().read(mail))
    except FileUnreadable as error:
        shown = inbound.ReadBack("", "", "", mail.subject, "", [], problem=error.problem)
    return render(
        "internal/mail.html",
        mail=mail,
        shown=shown,
        confirm=FlaskForm(),
        may_dismiss=permissions.can_dismiss_mail(current_user),
    )


@bp.get("/mail/<int:mail_id>/message.eml")
@reviewer_required
@sends_file
def mail_download(mail_id: int):
    """The message exactly as it arrived, to open in a mail program."""
    mail = _mail_or_404(mail_id)
    return web.send_stored_as(mail, f"mail-{mail.id}.eml", "message/rfc822")


@bp.post("/mail/<int:mail_id>/dismiss")
@allowed_by(permissions.can_dismiss_mail)
def dismiss_mail(mail_id: int):
    mail = _mail_or_404(mail_id)
    if FlaskForm().validate_on_submit():
        unmatched.dismiss(mail, current_user)
        flash(_("The message is put aside."), "info")
    return redirect(url_for("internal.unmatched_mail"), code=303)
