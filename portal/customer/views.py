"""The customer portal: what a key account's people see of their own account."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.access import contract_for_customer, customer_required, request_for_customer
from portal.extensions import db
from portal.models import ServiceRequest, TimelineEvent
from portal.models.contracts import ENTITLEMENT_UNITS
from portal.rendering import render
from portal.services import entitlements, overview
from portal.timeutil import today_for

bp = Blueprint("customer", __name__, url_prefix="/my")


@bp.get("/")
@customer_required
def home():
    return render("customer/home.html", home=overview.customer_home(current_user, today_for(current_user)))


@bp.get("/requests/<int:request_id>")
@customer_required
def request_detail(request_id: int):
    service_request = request_for_customer(request_id)
    # Customers never see internal notes.
    events = db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.request_id == service_request.id, TimelineEvent.internal.is_(False))
        .options(selectinload(TimelineEvent.actor))
        .order_by(TimelineEvent.id)
    ).all()
    return render("customer/request_detail.html", service_request=service_request, events=events)


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
