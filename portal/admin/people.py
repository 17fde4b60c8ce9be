"""The back office's staff and departments: the company's people (find, invite with a role and
departments, change, switch off — signed out everywhere — password reset, invitation again) and each
department's names, members and automatic assignment."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from portal import web
from portal.admin import bp, forms
from portal.admin.views import admin_required
from portal.extensions import db
from portal.i18n import current_language
from portal.models import Department, User
from portal.rendering import render
from portal.services.errors import DomainError, InvalidInput
from portal.services.identity import account_users, staff

PAGE_SIZE = 50


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.id)))


def _department_choices(form: Any, field: str, blank: object | None = None) -> None:
    pairs = [(str(d.id), d.display_name(current_language())) for d in _departments()]
    getattr(form, field).choices = web.options(pairs, blank)


def _details(form: forms.StaffForm) -> staff.StaffDetails:
    return staff.StaffDetails(
        full_name=form.full_name.data or "",
        role=form.role.data or "",
        department_ids=tuple(i or 0 for i in form.department_ids.data or ()),  # 0: no such department
        locale=form.locale.data or None,
    )


@bp.get("/staff")
@admin_required
def staff_list():
    form = forms.StaffFilterForm(request.args)
    _department_choices(form, "department", _("All"))
    form.validate()
    filters = staff.StaffFilters(
        search=form.q.data or "",
        role=form.role.data or "",
        department_id=form.department.data,
        state=form.state.data or "",
    )
    page = db.paginate(staff.staff_list(filters), per_page=PAGE_SIZE, error_out=False)
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return render(
        "admin/staff.html",
        block="results",
        form=form,
        page=page,
        args=args,
        awaits_first_sign_in=account_users.awaits_first_sign_in,
    )


@bp.get("/staff/new")
@admin_required
def new_staff():
    form = forms.NewStaffForm(formdata=None)
    _department_choices(form, "department_ids")
    return render("admin/staff_new.html", form=form)


@bp.post("/staff")
@admin_required
def invite_staff():
    form = forms.NewStaffForm()
    _department_choices(form, "department_ids")
    if form.validate_on_submit():
        try:
            user = staff.invite_staff(current_user, form.email.data or "", _details(form))
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback="email")
        else:
            flash(_("An invitation is on its way to %(email)s.", email=user.email), "info")
            return redirect(url_for("admin.staff_user", user_id=user.id), code=303)
    return render("admin/staff_new.html", form=form, status=422)


def _staff_or_404(user_id: int) -> User:
    user = db.get_or_404(User, user_id)
    if user.account_id is not None:
        abort(404)  # a customer's user: on their account's page
    return user


def _staff_page(user: User, form: Any = None, status: int = 200) -> Response:
    if form is None:
        form = forms.StaffForm(
            formdata=None,
            full_name=user.full_name,
            role=user.role,
            locale=user.locale or "",
            department_ids=[d.id for d in user.departments],
        )
    _department_choices(form, "department_ids")
    return render(
        "admin/staff_user.html",
        person=user,
        form=form,
        status=status,
        awaits_first_sign_in=account_users.awaits_first_sign_in(user),
    )


@bp.get("/staff/<int:user_id>")
@admin_required
def staff_user(user_id: int):
    return _staff_page(_staff_or_404(user_id))


@bp.post("/staff/<int:user_id>")
@admin_required
def update_staff(user_id: int):
    user = _staff_or_404(user_id)
    form = forms.StaffForm()
    _department_choices(form, "department_ids")
    if form.validate_on_submit():
        try:
            staff.update_staff(current_user, user, _details(form))
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback="role")
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("admin.staff_user", user_id=user.id), code=303)
    return _staff_page(user, form=form, status=422)


def _act(user_id: int, action: Any, done: str | None = None) -> Response:
    """A button on the person's page: do it, say how it went, back to the page."""
    user = _staff_or_404(user_id)
    if forms.ConfirmForm().validate_on_submit():
        try:
            action(user)
        except DomainError as error:
            flash(str(error), "error")
        else:
            if done:
                flash(done % {"name": user.full_name, "email": user.email}, "info")
    return redirect(url_for("admin.staff_user", user_id=user.id), code=303)


@bp.post("/staff/<int:user_id>/active")
@admin_required
def toggle_staff(user_id: int):
    return _act(user_id, lambda user: staff.set_staff_active(current_user, user, not user.active))


@bp.post("/staff/<int:user_id>/password-reset")
@admin_required
def send_staff_password_reset(user_id: int):
    done = _("A link to choose a new password is on its way to %(email)s.")
    return _act(user_id, lambda user: staff.send_password_reset(current_user, user), done)


@bp.post("/staff/<int:user_id>/invitation")
@admin_required
def resend_staff_invitation(user_id: int):
    done = _("The invitation is sent again to %(email)s.")
    return _act(user_id, lambda user: staff.resend_invitation(current_user, user), done)


# --- departments -------------------------------------------------------------------------------------------


def _departments_page(forms_by_id: dict[int, Any] | None = None, status: int = 200) -> Response:
    departments = list(
        db.session.scalars(
            select(Department).options(selectinload(Department.members)).order_by(Department.id)
        )
    )
    kept = forms_by_id or {}
    edit = {
        d.id: kept.get(d.id) or forms.DepartmentForm(formdata=None, obj=d, prefix=f"d{d.id}")
        for d in departments
    }
    return render("admin/departments.html", departments=departments, edit=edit, status=status)


@bp.get("/departments")
@admin_required
def departments():
    return _departments_page()


@bp.post("/departments/<int:department_id>")
@admin_required
def rename_department(department_id: int):
    department = db.get_or_404(Department, department_id)
    form = forms.DepartmentForm(prefix=f"d{department.id}")
    if form.validate_on_submit():
        try:
            staff.update_department(
                current_user, department, name_zh=form.name_zh.data or "", name_en=form.name_en.data or ""
            )
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback="name_zh")
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("admin.departments") + f"#department-{department.id}", code=303)
    return _departments_page({department.id: form}, status=422)
