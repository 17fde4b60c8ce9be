"""The back office's accounts: a list to find one (code or name in either language, classification,
industry, state), a form to create one, and the account's page — its details and classification to edit,
switching it off and on, its people (invite, role, deactivate, invitation again) and links to everything
else of the account."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from portal import web
from portal.admin import bp, forms
from portal.admin.views import admin_required
from portal.extensions import db
from portal.models import Account, ServiceRequest, User
from portal.models.accounts import STAFF_ROLES
from portal.models.requests import OPEN_STATUSES
from portal.rendering import render
from portal.services.accounts import accounts
from portal.services.contracts.contracts import account_contracts
from portal.services.errors import DomainError, InvalidInput
from portal.services.identity import account_users
from portal.timeutil import today_for

PAGE_SIZE = 50


def _account_managers(form: forms.AccountForm) -> None:
    people = db.session.execute(
        select(User.id, User.full_name)
        .where(User.role.in_(STAFF_ROLES), User.active)
        .order_by(User.full_name)
    )
    form.account_manager_id.choices = web.options([(str(i), name) for i, name in people], _l("Nobody yet"))


def _details(form: forms.AccountForm) -> accounts.AccountDetails:
    return accounts.AccountDetails(
        code=form.code.data or "",
        name=form.name.data or "",
        name_en=form.name_en.data or "",
        industry=form.industry.data or "",
        size=form.size.data or "",
        tier=form.tier.data or "",
        preferred_language=form.preferred_language.data or "",
        account_manager_id=form.account_manager_id.data,
        email_domains=form.email_domains.data or "",
    )


@bp.get("/accounts")
@admin_required
def accounts_list():
    form = forms.AccountFilterForm(request.args)
    form.validate()
    filters = accounts.AccountFilters(
        search=form.q.data or "",
        tier=form.tier.data or "",
        industry=form.industry.data or "",
        state=form.state.data or "",
    )
    page = db.paginate(accounts.account_list(filters), per_page=PAGE_SIZE, error_out=False)
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return render("admin/accounts.html", block="results", form=form, page=page, args=args)


@bp.get("/accounts/new")
@admin_required
def new_account():
    form = forms.AccountForm(formdata=None)
    _account_managers(form)
    return render("admin/account_new.html", form=form)


@bp.post("/accounts")
@admin_required
def create_account():
    form = forms.AccountForm()
    _account_managers(form)
    if form.validate_on_submit():
        try:
            account = accounts.create_account(current_user, _details(form))
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback="code")
        else:
            flash(
                _("The account %(name)s is created. Invite its administrator next.", name=account.name),
                "info",
            )
            return redirect(url_for("admin.account", account_id=account.id) + "#people", code=303)
    return render("admin/account_new.html", form=form, status=422)


def _account_or_404(account_id: int) -> Account:
    return db.get_or_404(Account, account_id)


def _account_page(account: Account, form: Any = None, invite: Any = None, status: int = 200) -> Response:
    if form is None:
        form = forms.AccountForm(formdata=None, obj=accounts.details_of(account))
    _account_managers(form)
    counts = {
        "open_requests": db.session.scalar(
            select(func.count(ServiceRequest.id)).where(
                ServiceRequest.account_id == account.id, ServiceRequest.status.in_(OPEN_STATUSES)
            )
        ),
    }
    return render(
        "admin/account.html",
        account=account,
        form=form,
        invite=invite or forms.AccountUserForm(formdata=None),
        users=account_users.users_of(account.id),
        awaits_first_sign_in=account_users.awaits_first_sign_in,
        counts=counts,
        contracts=account_contracts(account.id),
        today=today_for(current_user),
        status=status,
    )


@bp.get("/accounts/<int:account_id>")
@admin_required
def account(account_id: int):
    return _account_page(_account_or_404(account_id))


@bp.post("/accounts/<int:account_id>")
@admin_required
def update_account(account_id: int):
    account = _account_or_404(account_id)
    form = forms.AccountForm()
    _account_managers(form)
    if form.validate_on_submit():
        try:
            changed = accounts.update_account(current_user, account, _details(form))
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback="code")
        else:
            flash(_("Saved.") if changed else _("Nothing was changed."), "info")
            return redirect(url_for("admin.account", account_id=account.id), code=303)
    return _account_page(account, form=form, status=422)


@bp.post("/accounts/<int:account_id>/active")
@admin_required
def toggle_account(account_id: int):
    account = _account_or_404(account_id)
    if forms.ConfirmForm().validate_on_submit():
        accounts.set_account_active(current_user, account, not account.active)
        flash(
            _("%(name)s is switched on again.", name=account.name)
            if account.active
            else _("%(name)s is switched off: its people cannot sign in.", name=account.name),
            "info",
        )
    return redirect(url_for("admin.account", account_id=account.id), code=303)


@bp.post("/accounts/<int:account_id>/users")
@admin_required
def invite_account_user(account_id: int):
    account = _account_or_404(account_id)
    invite = forms.AccountUserForm()
    if invite.validate_on_submit():
        try:
            account_users.invite(
                current_user,
                email=invite.email.data or "",
                full_name=invite.full_name.data or "",
                role=invite.role.data or "",
                account=account,
            )
        except InvalidInput as error:
            web.show_errors(invite, error.errors, fallback="email")
        else:
            email = (invite.email.data or "").strip().lower()
            flash(_("An invitation is on its way to %(email)s.", email=email), "info")
            return _back_to_people(account.id)
    return _account_page(account, invite=invite, status=422)


def _user_of(account_id: int, user_id: int) -> User:
    user = db.get_or_404(User, user_id)
    if user.account_id != _account_or_404(account_id).id:
        abort(404)
    return user


def _back_to_people(account_id: int) -> Response:
    return redirect(url_for("admin.account", account_id=account_id) + "#people", code=303)


@bp.post("/accounts/<int:account_id>/users/<int:user_id>/role")
@admin_required
def change_account_user_role(account_id: int, user_id: int):
    user = _user_of(account_id, user_id)
    if forms.ConfirmForm().validate_on_submit():
        try:
            account_users.set_role(current_user, user, request.form.get("role", ""))
        except DomainError as error:
            flash(str(error), "error")
    return _back_to_people(account_id)


@bp.post("/accounts/<int:account_id>/users/<int:user_id>/active")
@admin_required
def toggle_account_user(account_id: int, user_id: int):
    user = _user_of(account_id, user_id)
    if forms.ConfirmForm().validate_on_submit():
        try:
            account_users.set_active(current_user, user, not user.active)
        except DomainError as error:
            flash(str(error), "error")
    return _back_to_people(account_id)


@bp.post("/accounts/<int:account_id>/users/<int:user_id>/invitation")
@admin_required
def resend_account_invitation(account_id: int, user_id: int):
    user = _user_of(account_id, user_id)
    if forms.ConfirmForm().validate_on_submit():
        try:
            account_users.resend_invitation(current_user, user)
        except DomainError as error:
            flash(str(error), "error")
        else:
            flash(_("The invitation is sent again to %(email)s.", email=user.email), "info")
    return _back_to_people(account_id)
