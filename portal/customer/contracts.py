"""Contracts of the customer's account: the list, each contract's ledger and its signed document."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from portal import permissions, web
from portal.access import contract_for_customer, customer_required
from portal.customer import bp
from portal.extensions import db
from portal.models import ServiceRequest
from portal.models.contracts import ENTITLEMENT_UNITS
from portal.rendering import render, sends_file
from portal.services.contracts import entitlements
from portal.services.contracts.contracts import account_contracts, record_document_download, signed_document
from portal.timeutil import today_for


@bp.get("/contracts")
@customer_required
def contracts():
    today = today_for(current_user)
    contracts = account_contracts(current_user.account_id, current_user)
    ledgers = entitlements.contract_ledgers(contracts, today)
    rows = [(c, ledgers[c.id]) for c in contracts]
    return render("customer/contracts.html", rows=rows, today=today)


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
            permissions.visible_requests(current_user)
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
        document=signed_document(contract),
    )


@bp.get("/contracts/<int:contract_id>/document")
@sends_file
@customer_required
def contract_document(contract_id: int):
    contract = contract_for_customer(contract_id)
    document = signed_document(contract)
    if document is None:
        abort(404)
    record_document_download(contract, current_user, request.remote_addr or "")
    return web.send_stored(document)
