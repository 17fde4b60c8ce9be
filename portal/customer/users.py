"""The account's users, managed by its customer administrator."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import web
from portal.access import roles_required, user_for_customer_admin
from portal.customer import bp, forms
from portal.rendering import render
from portal.services.errors import DomainError, InvalidInput
from portal.services.identity import account_users


def _users_page(form: Any = None, *, status: int = 200):
    return render(
        "customer/users.html",
        users=account_users.account_users(current_user),
        form=form or forms.InviteForm(formdata=None),
        awaits_first_sign_in=account_users.awaits_first_sign_in,
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
        account_users.invite(
            current_user,
            email=form.email.data or "",
            full_name=form.full_name.data or "",
            role=form.role.data or "customer",
        )
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="email")
        return _users_page(form, status=422)
    # The same answer whether or not the address already had a user: inviting reveals nobody.
    flash(
        _(
            "An invitation is on its way to %(email)s: a one-time link, valid for %(days)d days. "
            "If it does not arrive, send it again from the list.",
            email=(form.email.data or "").strip().lower(),
            days=account_users.INVITATION_DAYS,
        ),
        "info",
    )
    return redirect(url_for("customer.users"), code=303)


@bp.post("/users/<int:user_id>/invitation")
@roles_required("customer_admin")
def resend_invitation(user_id: int):
    user = user_for_customer_admin(user_id)
    if forms.FlaskForm().validate_on_submit():
        try:
            account_users.resend_invitation(current_user, user)
        except DomainError as error:
            flash(str(error), "error")
        else:
            flash(_("The invitation is sent again to %(email)s.", email=user.email), "info")
    return redirect(url_for("customer.users"), code=303)


@bp.post("/users/<int:user_id>/role")
@roles_required("customer_admin")
def change_user_role(user_id: int):
    user = user_for_customer_admin(user_id)
    if forms.FlaskForm().validate_on_submit():
        try:
            account_users.set_role(current_user, user, request.form.get("role", ""))
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("customer.users"), code=303)


@bp.post("/users/<int:user_id>/active")
@roles_required("customer_admin")
def toggle_user(user_id: int):
    user = user_for_customer_admin(user_id)
    if forms.FlaskForm().validate_on_submit():
        try:
            account_users.set_active(current_user, user, not user.active)
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("customer.users"), code=303)
