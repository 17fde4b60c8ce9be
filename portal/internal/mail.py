"""Unmatched mail: what came to the service address and matched no request — from a stranger, with a
forged sender, or unreadable — for the leads to read, download and put aside (managers and admins read)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from portal import permissions, web
from portal.access import allowed_by
from portal.extensions import db
from portal.internal import bp
from portal.internal.forms import FileMailForm
from portal.models import InboundMail, User
from portal.rendering import render, sends_file
from portal.services.errors import InvalidInput
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


def _file_form(formdata: object = None) -> FileMailForm:
    form = FileMailForm(formdata=formdata) if formdata is not None else FileMailForm()
    grouped: dict[str, list[tuple[int, str]]] = {}
    for person in unmatched.contacts():
        grouped.setdefault(person.account.name, []).append(
            (person.id, f"{person.full_name} <{person.email}>")
        )
    form.contact.choices = grouped
    return form


@bp.get("/mail/<int:mail_id>")
@reviewer_required
def mail_detail(mail_id: int):
    return _show_mail(_mail_or_404(mail_id))


def _show_mail(mail: InboundMail, *, form: FileMailForm | None = None, status: int = 200):
    try:
        shown = inbound.read_back(file_store().read(mail))
    except FileUnreadable as error:
        shown = inbound.ReadBack("", "", "", mail.subject, "", [], problem=error.problem)
    return render(
        "internal/mail.html",
        mail=mail,
        shown=shown,
        confirm=FlaskForm(),
        may_handle=permissions.can_handle_mail(current_user),
        file_form=form or (_file_form() if permissions.can_handle_mail(current_user) else None),
        status=status,
    )


@bp.get("/mail/<int:mail_id>/message.eml")
@reviewer_required
@sends_file
def mail_download(mail_id: int):
    """The message exactly as it arrived, to open in a mail program."""
    mail = _mail_or_404(mail_id)
    return web.send_stored_as(mail, f"mail-{mail.id}.eml", "message/rfc822")


@bp.post("/mail/<int:mail_id>/dismiss")
@allowed_by(permissions.can_handle_mail)
def dismiss_mail(mail_id: int):
    mail = _mail_or_404(mail_id)
    if FlaskForm().validate_on_submit():
        unmatched.dismiss(mail, current_user)
        flash(_("The message is put aside."), "info")
    return redirect(url_for("internal.unmatched_mail"), code=303)


@bp.post("/mail/<int:mail_id>/file")
@allowed_by(permissions.can_handle_mail)
def file_mail(mail_id: int):
    """File the message as a request by the chosen contact, and open it."""
    filed = db.session.get(InboundMail, mail_id)
    if filed is not None and filed.outcome == "filed" and filed.request_id is not None:
        return redirect(url_for("internal.workspace", request_id=filed.request_id), code=303)  # sent twice
    mail = _mail_or_404(mail_id)
    form = _file_form(request.form)
    if not form.validate_on_submit():
        return _show_mail(mail, form=form, status=422)
    contact = db.session.get(User, form.contact.data)
    try:
        assert contact is not None  # one of the choices
        new = unmatched.file_as_request(
            mail, contact, current_user, files=file_store(), max_bytes=current_app.config["UPLOAD_MAX_BYTES"]
        )
    except InvalidInput as error:
        db.session.rollback()
        form.contact.errors = [str(error)]
        return _show_mail(_mail_or_404(mail_id), form=form, status=422)
    flash(_("The message is filed as %(reference)s.", reference=new.reference), "success")
    return redirect(url_for("internal.workspace", request_id=new.id), code=303)
