"""The account's users, managed by its customer administrator."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import permissions
from portal.access import roles_required
from portal.customer import bp, forms
from portal.extensions import db
from portal.models import User
from portal.rendering import render
from portal.services.errors import DomainError, InvalidInput
from portal.services.identity import account_users


def _user_of_account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not permissions.can_manage_user(current_user, user):
        abort(404)
    return user


def _users_page(form: Any = None, *, link: str | None = None, status: int = 200):
    return render(
        "customer/users.html",
        users=account_users.account_users(current_user),
        form=form or forms.InviteForm(formdata=None),
        link=link,
        status=status,
    )


@bp.get("/users")
@roles_required("customer_admin")
def users():
    return _users_page()


@bp.post("/users")
@roles_required("customer_admin")
def invite_user():
    form = forms.InviteForm()
    if not form.validate_on_submit():
        return _users_page(form, status=422)
    try:
        user, token = account_users.invite(
            current_user,
            email=form.email.data or "",
            full_name=form.full_name.data or "",
            role=form.role.data or "customer",
        )
    except InvalidInput as error:
        getattr(form, error.field, form.email).errors = [str(error)]
        return _users_page(form, status=422)
    # Built on the configured site address, like the emailed one, never on this request's Host header.
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.accept_invitation", token=token)
    flash(
        _(
            "%(name)s is invited: we emailed them a one-time link (valid for %(days)d days). "
            "You can also give them the link below.",
            name=user.full_name,
            days=account_users.INVITATION_DAYS,
        ),
        "info",
    )
    return _users_page(link=link)


@bp.post("/users/<int:user_id>/role")
@roles_required("customer_admin")
def change_user_role(user_id: int):
    user = _user_of_account(user_id)
    if forms.FlaskForm().validate_on_submit():
        try:
            account_users.set_role(current_user, user, request.form.get("role", ""))
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("customer.users"), code=303)


@bp.post("/users/<int:user_id>/active")
@roles_required("customer_admin")
def toggle_user(user_id: int):
    user = _user_of_account(user_id)
    if forms.FlaskForm().validate_on_submit():
        try:
            account_users.set_active(current_user, user, not user.active)
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("customer.users"), code=303)
