"""The customer portal: the dashboard, the account's requests and working on one of them."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import permissions, web
from portal.access import attachment_for_viewer, customer_required, request_for_customer
from portal.customer import bp, forms
from portal.extensions import db
from portal.models import ServiceRequest, TimelineEvent
from portal.models.base import utcnow
from portal.models.contracts import ENTITLEMENT_UNITS
from portal.models.requests import STATUSES, SUBTYPES
from portal.page_cache import cached_page
from portal.rendering import render, sends_file
from portal.services import overview
from portal.services.contracts.contracts import account_contracts
from portal.services.errors import DomainError, InvalidInput
from portal.services.requests import intake, lifecycle, my_requests, sla, workflow
from portal.services.submissions import AlreadySubmitted
from portal.timeutil import today_for
from portal.uploads import file_store, uploads_of


@bp.get("/")
@cached_page
@customer_required
def home():
    return render("customer/home.html", home=overview.customer_home(current_user, today_for(current_user)))


@bp.get("/requests")
@cached_page
@customer_required
def requests():
    contracts = account_contracts(current_user.account_id, current_user)
    form = forms.RequestFilterForm(request.args)
    form.contract.choices = forms.options([(str(c.id), c.number) for c in contracts], _("All"))
    form.validate()  # bad dates are dropped (and marked), the rest still filters
    filters = my_requests.RequestFilters(
        status=form.status.data if form.status.data in (*STATUSES, "open") else None,
        category=form.category.data if form.category.data in SUBTYPES else None,
        contract_id=form.contract.data,
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


@bp.get("/requests/<int:request_id>")
@cached_page
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
        approval=next((e for e in reversed(events) if e.kind == "approval"), None),
        unit_of=ENTITLEMENT_UNITS,
    )


@bp.post("/requests/<int:request_id>/approval")
@customer_required
def decide_approval(request_id: int):
    service_request = request_for_customer(request_id)
    if not permissions.can_decide_approval(current_user, service_request):
        abort(403)
    if not forms.FlaskForm().validate_on_submit():
        abort(400)
    try:
        intake.decide_approval(service_request, current_user, request.form.get("decision") == "approve")
    except DomainError as error:
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
    uploads = uploads_of(form.files)
    try:
        workflow.reply_with_files(
            service_request,
            current_user,
            form.body.data,
            uploads,
            files=file_store(),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            idempotency_key=form.idempotency_key.data,
        )
    except AlreadySubmitted:
        pass  # sent twice: the first one is on the request's page
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="body")
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
            flash(str(error), "error")
    return redirect(url_for("customer.request_detail", request_id=request_id), code=303)


@bp.get("/attachments/<int:attachment_id>")
@sends_file
@customer_required
def download_attachment(attachment_id: int):
    """Only files of a request the user may see, and never one attached as internal."""
    attachment = attachment_for_viewer(attachment_id)
    return web.send_stored(attachment)
