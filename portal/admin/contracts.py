"""Contracts in the back office, for administrators, finance and the account's manager: draft one with its
entitlements, edit the draft, upload the signed copy (every copy kept), sign it off, renew it, end it
early. (The rules: ``services/contracts/drafting.py``; who: ``permissions.can_draft_contract``.)"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import web
from portal.access import account_for_drafter, contract_drafter_required, contract_for_drafter
from portal.admin import bp, forms
from portal.extensions import db
from portal.models import Attachment, Contract
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.rendering import render, sends_file
from portal.services.contracts import contracts, drafting, entitlements
from portal.services.errors import InvalidInput
from portal.services.requests.attachments import Upload
from portal.timeutil import today_for
from portal.uploads import file_store


def _terms(form: forms.ContractForm) -> drafting.ContractTerms:
    return drafting.ContractTerms(
        number=form.number.data or "",
        title=form.title.data or "",
        start_date=form.start_date.data if not form.start_date.errors else None,
        end_date=form.end_date.data if not form.end_date.errors else None,
        amount=form.amount.data or "",
        currency=form.currency.data or "",
        entitlements={kind: getattr(form, f"entitlement_{kind}").data or "" for kind in ENTITLEMENT_KINDS},
        per_year=frozenset(k for k in form.per_year.data or () if k in ENTITLEMENT_KINDS),
    )


def _filled(terms: drafting.ContractTerms) -> forms.ContractForm:
    values: dict[str, Any] = {k: v for k, v in vars(terms).items() if k not in ("entitlements", "per_year")}
    values.update({f"entitlement_{kind}": q for kind, q in terms.entitlements.items()})
    values["per_year"] = sorted(terms.per_year)
    return forms.ContractForm(formdata=None, **values)


def _saved(form: forms.ContractForm, save: Any, contract: Contract | None = None) -> Contract | None:
    """Every problem at once — the form's own and the service's — and ``save(terms)`` only if none: the
    contract saved, or None with the problems on the form."""
    valid = form.validate()
    try:
        if not valid:
            drafting.check_terms(_terms(form), contract)
            return None
        return save(_terms(form)) or contract
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="number")
        return None


@bp.get("/accounts/<int:account_id>/contracts/new")
@contract_drafter_required
def new_contract(account_id: int):
    account = account_for_drafter(account_id)
    return render("admin/contract_new.html", account=account, form=forms.ContractForm(formdata=None))


@bp.post("/accounts/<int:account_id>/contracts")
@contract_drafter_required
def create_contract(account_id: int):
    account = account_for_drafter(account_id)
    form = forms.ContractForm()
    made = _saved(form, lambda terms: drafting.create_draft(current_user, account, terms))
    if made is not None:
        flash(
            _("The draft %(number)s is saved. Upload the signed copy to sign it off.", number=made.number),
            "info",
        )
        return redirect(url_for("admin.contract", contract_id=made.id), code=303)
    return render("admin/contract_new.html", account=account, form=form, status=422)


def _contract_page(contract: Contract, status: int = 200, **kept: Any) -> Response:
    today = today_for(current_user)
    copies = list(
        db.session.scalars(
            select(Attachment).where(Attachment.contract_id == contract.id).order_by(Attachment.id.desc())
        )
    )
    form = kept.pop("form", None)
    if form is None and contract.state == "draft":
        form = _filled(_as_terms(contract))
    return render(
        "admin/contract.html",
        contract=contract,
        account=contract.account,
        form=form,
        copy_form=kept.pop("copy_form", None) or forms.SignedCopyForm(formdata=None),
        end_form=kept.pop("end_form", None) or forms.TerminateForm(formdata=None),
        lines=entitlements.contract_ledger(contract, today) if contract.state != "draft" else [],
        copies=copies,
        today=today,
        renews=db.session.get(Contract, contract.renews_id) if contract.renews_id else None,
        renewals=list(db.session.scalars(select(Contract).where(Contract.renews_id == contract.id))),
        status=status,
    )


def _as_terms(contract: Contract) -> drafting.ContractTerms:
    return drafting.ContractTerms(
        number=contract.number,
        title=contract.title,
        start_date=contract.start_date,
        end_date=contract.end_date,
        amount=str(contract.amount),
        currency=contract.currency,
        entitlements={e.kind: f"{e.quantity.normalize():f}" for e in contract.entitlements},
        per_year=frozenset(e.kind for e in contract.entitlements if e.period == "year"),
    )


@bp.get("/contracts/<int:contract_id>")
@contract_drafter_required
def contract(contract_id: int):
    return _contract_page(contract_for_drafter(contract_id))


@bp.post("/contracts/<int:contract_id>")
@contract_drafter_required
def update_contract(contract_id: int):
    contract = contract_for_drafter(contract_id)
    form = forms.ContractForm()
    try:
        saved = _saved(form, lambda terms: drafting.update_draft(current_user, contract, terms), contract)
    except drafting.NotADraft as error:
        flash(str(error), "error")
        return redirect(url_for("admin.contract", contract_id=contract.id), code=303)
    if saved:
        flash(_("Saved."), "info")
        return redirect(url_for("admin.contract", contract_id=contract.id), code=303)
    return _contract_page(contract, status=422, form=form)


@bp.post("/contracts/<int:contract_id>/copies")
@contract_drafter_required
def upload_signed_copy(contract_id: int):
    contract = contract_for_drafter(contract_id)
    copy_form = forms.SignedCopyForm()
    if copy_form.validate_on_submit():
        file = copy_form.file.data
        try:
            if not file or not file.filename:
                raise InvalidInput("file", _("Choose the signed copy, a PDF file."))
            contracts.attach_signed_document(
                contract,
                Upload(file.filename, file.read()),
                current_user,
                files=file_store(),
                max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            )
        except InvalidInput as error:
            web.show_errors(copy_form, error.errors, fallback="file")
            return _contract_page(contract, status=422, copy_form=copy_form)
        flash(_("The signed copy is on file."), "info")
    return redirect(url_for("admin.contract", contract_id=contract.id), code=303)


@bp.get("/contracts/<int:contract_id>/copies/<int:copy>")
@sends_file
@contract_drafter_required
def signed_copy(contract_id: int, copy: int):
    contract = contract_for_drafter(contract_id)
    attachment = db.session.get(Attachment, copy)
    if attachment is None or attachment.contract_id != contract.id:
        abort(404)
    contracts.record_document_download(contract, current_user, request.remote_addr or "")
    return web.send_stored(attachment)


@bp.post("/contracts/<int:contract_id>/sign-off")
@contract_drafter_required
def sign_off_contract(contract_id: int):
    contract = contract_for_drafter(contract_id)
    if forms.ConfirmForm().validate_on_submit():
        try:
            drafting.sign_off(current_user, contract)
        except InvalidInput as error:
            flash(str(error), "error")
        else:
            flash(
                _("%(number)s is signed: the account books its requests against it.", number=contract.number),
                "info",
            )
    return redirect(url_for("admin.contract", contract_id=contract.id), code=303)


@bp.post("/contracts/<int:contract_id>/renewal")
@contract_drafter_required
def renew_contract(contract_id: int):
    contract = contract_for_drafter(contract_id)
    if forms.ConfirmForm().validate_on_submit():
        try:
            renewal = drafting.renew(current_user, contract)
        except InvalidInput as error:
            flash(str(error), "error")
        else:
            flash(
                _("The renewal is drafted with the same entitlements: adjust it, then sign it off."), "info"
            )
            return redirect(url_for("admin.contract", contract_id=renewal.id), code=303)
    return redirect(url_for("admin.contract", contract_id=contract.id), code=303)


@bp.post("/contracts/<int:contract_id>/termination")
@contract_drafter_required
def terminate_contract(contract_id: int):
    contract = contract_for_drafter(contract_id)
    end_form = forms.TerminateForm()
    valid = end_form.validate()
    on, reason = (end_form.on.data if not end_form.on.errors else None), end_form.reason.data or ""
    try:
        if not valid:
            drafting.check_termination(contract, on, reason)  # the rest of what is wrong, all at once
        else:
            released = drafting.terminate(current_user, contract, on=on, reason=reason)
            message = _("%(number)s ends early; open requests released from it: %(count)d.")
            flash(message % {"number": contract.number, "count": released}, "info")
            return redirect(url_for("admin.contract", contract_id=contract.id), code=303)
    except InvalidInput as error:
        web.show_errors(end_form, error.errors, fallback="reason")
    return _contract_page(contract, status=422, end_form=end_form)
