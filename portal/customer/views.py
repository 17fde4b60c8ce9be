"""The customer portal: what a key account's people see of their own account."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.access import contract_for_customer, customer_required, request_for_customer, roles_required
from portal.customer import forms
from portal.extensions import db
from portal.models import Attachment, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.models.contracts import ENTITLEMENT_UNITS
from portal.models.requests import STATUSES, SUBTYPES
from portal.rendering import render
from portal.services import (
    account_users,
    attachments,
    entitlements,
    intake,
    lifecycle,
    my_requests,
    overview,
    sla,
    workflow,
)
from portal.services.contracts import account_contracts
from portal.services.errors import DomainError, InvalidInput
from portal.timeutil import today_for
from portal.uploads import upload_folder

bp = Blueprint("customer", __name__, url_prefix="/my")


@bp.get("/")
@customer_required
def home():
    return render("customer/home.html", home=overview.customer_home(current_user, today_for(current_user)))


@bp.get("/requests")
@customer_required
def requests():
    contracts = account_contracts(current_user.account_id)
    form = forms.RequestFilterForm(request.args)
    form.contract.choices = forms.options([(str(c.id), c.number) for c in contracts], _("All"))
    form.validate()  # bad dates are dropped (and marked), the rest still filters
    filters = my_requests.RequestFilters(
        status=form.status.data if form.status.data in (*STATUSES, "open") else None,
        category=form.category.data if form.category.data in SUBTYPES else None,
        contract_id=int(form.contract.data) if (form.contract.data or "").isdigit() else None,
        submitted_from=None if form.submitted_from.errors else form.submitted_from.data,
        submitted_to=None if form.submitted_to.errors else form.submitted_to.data,
        search=(form.q.data or "").strip() or None,
    )
    page = my_requests.request_page(
        current_user, filters, cursor=request.args.get("after"), zone=current_user.timezone
    )
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render(
        "customer/requests.html",
        block="results",
        form=form,
        page=page,
        next_url=url_for("customer.requests", **args, after=page.next_cursor) if page.next_cursor else None,
        first_url=url_for("customer.requests", **args) if request.args.get("after") else None,
    )


@bp.get("/contracts")
@customer_required
def contracts():
    today = today_for(current_user)
    rows = [(c, entitlements.contract_ledger(c, today)) for c in account_contracts(current_user.account_id)]
    return render("customer/contracts.html", rows=rows, today=today)


@bp.get("/requests/<int:request_id>")
@customer_required
def request_detail(request_id: int):
    return _show_request(request_for_customer(request_id))


def _show_request(service_request: ServiceRequest, *, form: Any = None, status: int = 200):
    # Customers never see internal notes or internally attached files.
    events = db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.request_id == service_request.id, TimelineEvent.internal.is_(False))
        .options(selectinload(TimelineEvent.actor))
        .order_by(TimelineEvent.id)
    ).all()
    now = utcnow()
    calendar = sla.load_calendar()
    return render(
        "customer/request_detail.html",
        status=status,
        service_request=service_request,
        events=events,
        reply_form=form or forms.ReplyForm(formdata=None),
        actions=lifecycle.available_actions(service_request, current_user),
        transitions=lifecycle.TRANSITIONS,
        resolution=sla.resolution_clock(service_request, calendar, now),
        first_response=sla.first_response_clock(service_request, calendar, now),
    )


@bp.get("/contracts/<int:contract_id>")
@customer_required
def contract_detail(contract_id: int):
    contract = contract_for_customer(contract_id)
    today = today_for(current_user)
    has_training = any(e.kind == "training_sessions" for e in contract.entitlements)
    behind = [
        (r, *entitlements.request_amount(r, has_training)) for r in entitlements.requests_behind(contract)
    ]
    # Colleagues' private requests count in the figures but are not opened from here.
    visible_ids = set(
        db.session.scalars(
            overview.visible_requests(current_user)
            .with_only_columns(ServiceRequest.id)
            .where(ServiceRequest.contract_id == contract.id)
        )
    )
    return render(
        "customer/contract_detail.html",
        contract=contract,
        today=today,
        lines=entitlements.contract_ledger(contract, today),
        behind=behind,
        visible_ids=visible_ids,
        hours=entitlements.time_behind(contract),
        unit_of=ENTITLEMENT_UNITS,
    )


# --- the service catalogue and filing a request -----------------------------------------------------------


def _service_or_404(category: str, subtype: str) -> None:
    if subtype not in SUBTYPES.get(category, ()):
        abort(404)


@bp.get("/new")
@customer_required
def catalogue():
    return render("customer/catalogue.html", subtypes=SUBTYPES)


def _request_form(account_contracts: list) -> forms.NewRequestForm:
    form = forms.NewRequestForm()
    form.contract.choices = forms.options(
        [(str(c.id), f"{c.number} · {c.title}") for c in account_contracts], _("No contract")
    )
    return form


def _details(form: forms.NewRequestForm, category: str, subtype: str) -> dict[str, Any]:
    names = list(forms.CATEGORY_FIELDS[category]) + (["trainees"] if subtype == "training" else [])
    return {name: getattr(form, name).data for name in names if getattr(form, name).data not in (None, "")}


def _chosen_contract(form: forms.NewRequestForm, contracts: list) -> Any:
    chosen = form.contract.data or ""
    return next((c for c in contracts if str(c.id) == chosen), None)


@bp.get("/new/<category>/<subtype>")
@customer_required
def new_request(category: str, subtype: str):
    _service_or_404(category, subtype)
    contracts = intake.active_contracts(current_user.account, today_for(current_user))
    form = _request_form(contracts)
    if request.method == "GET" and contracts:
        form.contract.data = str(contracts[0].id)
    return render(
        "customer/new_request.html",
        form=form,
        category=category,
        subtype=subtype,
        fields=forms.CATEGORY_FIELDS[category],
        preview=_preview(form, contracts, category, subtype),
        unit_of=ENTITLEMENT_UNITS,
    )


def _preview(form: forms.NewRequestForm, contracts: list, category: str, subtype: str) -> intake.UsePreview:
    visit_days = form.visit_days.data if category == "on_site" else None
    return intake.preview_use(
        _chosen_contract(form, contracts), category, subtype, visit_days, today_for(current_user)
    )


@bp.get("/new/<category>/<subtype>/preview")
@customer_required
def entitlement_preview(category: str, subtype: str):
    _service_or_404(category, subtype)
    contracts = intake.active_contracts(current_user.account, today_for(current_user))
    form = forms.NewRequestForm(request.args, meta={"csrf": False})
    form.contract.choices = []
    return render(
        "customer/_preview.html",
        preview=_preview(form, contracts, category, subtype),
        unit_of=ENTITLEMENT_UNITS,
    )


@bp.post("/new/<category>/<subtype>")
@customer_required
def file_request(category: str, subtype: str):
    _service_or_404(category, subtype)
    today = today_for(current_user)
    contracts = intake.active_contracts(current_user.account, today)
    form = _request_form(contracts)

    def again(status: int = 422):
        return render(
            "customer/new_request.html",
            form=form,
            category=category,
            subtype=subtype,
            status=status,
            fields=forms.CATEGORY_FIELDS[category],
            preview=_preview(form, contracts, category, subtype),
            unit_of=ENTITLEMENT_UNITS,
        )

    if not form.validate_on_submit():
        return again()
    if form.contract.data and _chosen_contract(form, contracts) is None:
        form.contract.errors = [_("Choose one of your account's running contracts.")]
        return again()
    priority = forms.SEVERITY_PRIORITY[form.severity.data] if category == "after_sale" else form.priority.data
    new = workflow.NewRequest(
        category,
        subtype,
        form.title.data,
        form.description.data,
        priority,
        _chosen_contract(form, contracts),
        details=_details(form, category, subtype),
    )
    uploads = [
        attachments.Upload(f.filename or "", f.read()) for f in (form.files.data or []) if f and f.filename
    ]
    try:
        filed = intake.file_request(
            current_user.account,
            current_user,
            new,
            uploads,
            today=today,
            folder=upload_folder(),
            max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
        )
    except InvalidInput as error:
        db.session.rollback()
        getattr(form, error.field, form.title).errors = [str(error)]
        return again()
    flash(
        _(
            "Request %(ref)s is submitted. We will answer by %(when)s.",
            ref=filed.reference,
            when=format_datetime(filed.first_response_due_at, "short"),
        ),
        "info",
    )
    return redirect(url_for("customer.request_detail", request_id=filed.id), code=303)


@bp.post("/requests/<int:request_id>/approval")
@customer_required
def decide_approval(request_id: int):
    service_request = request_for_customer(request_id)
    if current_user.role != "customer_admin" or not forms.FlaskForm().validate_on_submit():
        abort(403 if current_user.role != "customer_admin" else 400)
    try:
        intake.decide_approval(service_request, current_user, request.form.get("decision") == "approve")
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("customer.request_detail", request_id=request_id), code=303)


# --- working on one's own request ------------------------------------------------------------------------


@bp.post("/requests/<int:request_id>/reply")
@customer_required
def reply(request_id: int):
    service_request = request_for_customer(request_id)
    form = forms.ReplyForm()
    if not form.validate_on_submit():
        return _show_request(service_request, form=form, status=422)
    uploads = [
        attachments.Upload(f.filename or "", f.read()) for f in (form.files.data or []) if f and f.filename
    ]
    try:
        for upload in uploads:  # every file is checked before anything is written
            attachments.check(upload, current_app.config["MAX_CONTENT_LENGTH"])
        workflow.add_reply(service_request, current_user, form.body.data, seen_version=None)
        if uploads:
            attachments.attach_to_request(
                service_request,
                uploads,
                current_user,
                folder=upload_folder(),
                max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            )
    except InvalidInput as error:
        db.session.rollback()
        (form.files if error.field == "files" else form.body).errors = [str(error)]
        return _show_request(service_request, form=form, status=422)
    return redirect(url_for("customer.request_detail", request_id=request_id), code=303)


@bp.post("/requests/<int:request_id>/status")
@customer_required
def change_status(request_id: int):
    service_request = request_for_customer(request_id)
    form = forms.FlaskForm()
    if form.validate_on_submit():
        try:
            workflow.change_status(
                service_request, request.form.get("action", ""), current_user, seen_version=None
            )
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("customer.request_detail", request_id=request_id), code=303)


@bp.get("/attachments/<int:attachment_id>")
@customer_required
def download_attachment(attachment_id: int):
    """Only files of a request the user may see, and never one attached as internal."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.request_id is None:
        abort(404)
    request_for_customer(attachment.request_id)
    internal = db.session.scalar(
        select(TimelineEvent.internal).where(
            TimelineEvent.kind == "attachment",
            TimelineEvent.data["attachment_id"].as_integer() == attachment.id,
        )
    )
    if internal is not False:
        abort(404)
    return send_file(
        attachments.path_of(attachment, upload_folder()),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.original_name,
    )


# --- the account's users (administrator only) -------------------------------------------------------------


def _user_of_account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.account_id != current_user.account_id:
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
        db.session.rollback()
        getattr(form, error.field, form.email).errors = [str(error)]
        return _users_page(form, status=422)
    link = url_for("auth.accept_invitation", token=token, _external=True)
    flash(
        _(
            "%(name)s is invited. Give them this one-time link (valid for %(days)d days).",
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
            db.session.rollback()
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
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("customer.users"), code=303)
