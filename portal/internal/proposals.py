"""Proposals and quotations for sales and technical support: draft one for a prospect (after its needs
analysis), for an account, or as the renewal of a contract (pre-filled from it); edit the draft, send it,
revise it as a new version, download its PDF. Finance and managers read them. (The rules:
``services/pipeline/proposals.py``; who: ``permissions``.)"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import permissions, web
from portal.access import (
    account_for_staff,
    contract_for_staff,
    proposal_for_staff,
    proposal_reader_required,
    prospect_for_viewer,
)
from portal.internal import bp, forms
from portal.models import Account, Contract, Proposal, Prospect
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.rendering import render, sends_file
from portal.services import audit
from portal.services.errors import DomainError, InvalidInput
from portal.services.pipeline import proposals
from portal.timeutil import today_for


def _terms(form: forms.ProposalForm) -> proposals.ProposalTerms:
    return proposals.ProposalTerms(
        title=form.title.data or "",
        language=form.language.data or "",
        tier=form.tier.data or "",
        currency=form.currency.data or "",
        discount_percent=form.discount_percent.data or "",
        valid_until=form.valid_until.data if not form.valid_until.errors else None,
        start_date=form.start_date.data if not form.start_date.errors else None,
        end_date=form.end_date.data if not form.end_date.errors else None,
        terms=form.terms.data or "",
        quantities={kind: getattr(form, f"quantity_{kind}").data or "" for kind in ENTITLEMENT_KINDS},
        prices={kind: getattr(form, f"price_{kind}").data or "" for kind in ENTITLEMENT_KINDS},
        per_year=frozenset(k for k in form.per_year.data or () if k in ENTITLEMENT_KINDS),
    )


def _filled(terms: proposals.ProposalTerms) -> forms.ProposalForm:
    values: dict[str, Any] = {
        k: v for k, v in vars(terms).items() if k not in ("quantities", "prices", "per_year")
    }
    values.update({f"quantity_{kind}": q for kind, q in terms.quantities.items()})
    values.update({f"price_{kind}": p for kind, p in terms.prices.items()})
    values["per_year"] = sorted(terms.per_year)
    return forms.ProposalForm(formdata=None, **values)


def _saved(form: forms.ProposalForm, save: Any) -> Proposal | None:
    """Every problem at once — the form's own and the service's — and ``save(terms)`` only if none."""
    today = today_for(current_user)
    valid = form.validate()
    try:
        if not valid:
            proposals.check_terms(_terms(form), today)
            return None
        return save(_terms(form), today)  # type: ignore[no-any-return]
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="title")
        return None


def _new_page(form: forms.ProposalForm, *, action: str, back: str, name: str, status: int = 200, **more: Any):
    return render(
        "internal/proposal_new.html",
        form=form,
        action=action,
        back=back,
        customer_name=name,
        for_prospect=more.pop("for_prospect", False),
        status=status,
        **more,
    )


def _drafted(made: Proposal) -> Response:
    flash(_("The draft %(number)s is saved. Check it, then send it.", number=made.number), "info")
    return redirect(url_for("internal.proposal", proposal_id=made.id), code=303)


def _default_terms(today: Any, language: str, tier: str = "key") -> proposals.ProposalTerms:
    from datetime import timedelta

    start = today + timedelta(days=30)
    return proposals.ProposalTerms(
        title="",
        language=language,
        tier=tier,
        currency="CNY",
        discount_percent="0",
        valid_until=today + timedelta(days=30),
        start_date=start,
        end_date=start.replace(year=start.year + 1) - timedelta(days=1),
    )


# --- for a prospect ----------------------------------------------------------------------------------------


def _prospect_to_draft(prospect_id: int) -> Prospect:
    prospect = prospect_for_viewer(prospect_id)
    if not permissions.can_draft_proposal_for_prospect(current_user, prospect):
        abort(403)
    return prospect


@bp.get("/prospects/<int:prospect_id>/proposals/new")
@proposal_reader_required
def new_prospect_proposal(prospect_id: int):
    prospect = _prospect_to_draft(prospect_id)
    return _new_page(
        _filled(_default_terms(today_for(current_user), "zh")),
        action=url_for("internal.create_prospect_proposal", prospect_id=prospect.id),
        back=url_for("internal.prospect", prospect_id=prospect.id),
        name=prospect.name,
        for_prospect=True,
    )


@bp.post("/prospects/<int:prospect_id>/proposals")
@proposal_reader_required
def create_prospect_proposal(prospect_id: int):
    prospect = _prospect_to_draft(prospect_id)
    form = forms.ProposalForm()
    made = _saved(form, lambda terms, today: proposals.create(current_user, terms, today, prospect=prospect))
    if made is not None:
        return _drafted(made)
    return _new_page(
        form,
        action=url_for("internal.create_prospect_proposal", prospect_id=prospect.id),
        back=url_for("internal.prospect", prospect_id=prospect.id),
        name=prospect.name,
        for_prospect=True,
        status=422,
    )


# --- for an account, and renewals --------------------------------------------------------------------------


def _account_to_draft(account_id: int) -> Account:
    account = account_for_staff(account_id)
    if not permissions.can_draft_proposal_for_account(current_user, account):
        abort(403)
    return account


@bp.get("/accounts/<int:account_id>/proposals/new")
@proposal_reader_required
def new_account_proposal(account_id: int):
    account = _account_to_draft(account_id)
    return _new_page(
        _filled(_default_terms(today_for(current_user), account.preferred_language, account.tier)),
        action=url_for("internal.create_account_proposal", account_id=account.id),
        back=url_for("internal.account_detail", account_id=account.id),
        name=account.display_name(str(get_locale())),
    )


@bp.post("/accounts/<int:account_id>/proposals")
@proposal_reader_required
def create_account_proposal(account_id: int):
    account = _account_to_draft(account_id)
    form = forms.ProposalForm()
    made = _saved(form, lambda terms, today: proposals.create(current_user, terms, today, account=account))
    if made is not None:
        return _drafted(made)
    return _new_page(
        form,
        action=url_for("internal.create_account_proposal", account_id=account.id),
        back=url_for("internal.account_detail", account_id=account.id),
        name=account.display_name(str(get_locale())),
        status=422,
    )


def _contract_to_renew(contract_id: int) -> Contract:
    contract = contract_for_staff(contract_id)
    if not permissions.can_draft_proposal_for_account(current_user, contract.account):
        abort(403)
    return contract


@bp.get("/contracts/<int:contract_id>/renewal-proposal")
@proposal_reader_required
def new_renewal_proposal(contract_id: int):
    contract = _contract_to_renew(contract_id)
    return _new_page(
        _filled(proposals.renewal_terms(contract, today_for(current_user))),
        action=url_for("internal.create_renewal_proposal", contract_id=contract.id),
        back=url_for("internal.account_detail", account_id=contract.account_id),
        name=contract.account.display_name(str(get_locale())),
        renews=contract,
    )


@bp.post("/contracts/<int:contract_id>/renewal-proposal")
@proposal_reader_required
def create_renewal_proposal(contract_id: int):
    contract = _contract_to_renew(contract_id)
    form = forms.ProposalForm()
    made = _saved(
        form,
        lambda terms, today: proposals.create(
            current_user, terms, today, account=contract.account, renews=contract
        ),
    )
    if made is not None:
        return _drafted(made)
    return _new_page(
        form,
        action=url_for("internal.create_renewal_proposal", contract_id=contract.id),
        back=url_for("internal.account_detail", account_id=contract.account_id),
        name=contract.account.display_name(str(get_locale())),
        renews=contract,
        status=422,
    )


# --- one proposal ------------------------------------------------------------------------------------------


def _may_draft(proposal: Proposal) -> None:
    """Seeing a proposal (finance, managers) is not changing it."""
    if not permissions.can_draft_proposal(current_user, proposal):
        abort(403)


def _back(proposal: Proposal) -> str:
    if proposal.prospect_id is not None:
        return url_for("internal.prospect", prospect_id=proposal.prospect_id)
    return url_for("internal.account_detail", account_id=proposal.account_id)


def _page(
    proposal: Proposal, form: forms.ProposalForm | None = None, status: int = 200, send_errors: Any = ()
) -> Response:
    may_draft = permissions.can_draft_proposal(current_user, proposal)
    return render(
        "internal/proposal.html",
        p=proposal,
        form=form or _filled(proposals.terms_of(proposal)),
        for_prospect=proposal.prospect_id is not None,
        may_draft=may_draft,
        latest=proposals.latest_version(proposal),
        all_versions=proposals.versions(proposal),
        today=today_for(current_user),
        back=_back(proposal),
        send_errors=list(send_errors),
        status=status,
    )


@bp.get("/proposals/<int:proposal_id>")
@proposal_reader_required
def proposal(proposal_id: int):
    return _page(proposal_for_staff(proposal_id))


@bp.post("/proposals/<int:proposal_id>")
@proposal_reader_required
def update_proposal(proposal_id: int):
    found = proposal_for_staff(proposal_id)
    _may_draft(found)
    form = forms.ProposalForm()
    try:
        saved = _saved(
            form, lambda terms, today: proposals.update_draft(current_user, found, terms, today) or found
        )
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("internal.proposal", proposal_id=found.id), code=303)
    if saved is None:
        return _page(found, form, status=422)
    flash(_("Saved."), "info")
    return redirect(url_for("internal.proposal", proposal_id=found.id), code=303)


@bp.post("/proposals/<int:proposal_id>/sending")
@proposal_reader_required
def send_proposal(proposal_id: int):
    found = proposal_for_staff(proposal_id)
    _may_draft(found)
    try:
        proposals.send(current_user, found, today_for(current_user))
    except InvalidInput as error:
        return _page(found, status=422, send_errors=dict.fromkeys(error.errors.values()))
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(_("Sent to %(to)s.", to=found.sent_to), "info")
    return redirect(url_for("internal.proposal", proposal_id=found.id), code=303)


@bp.post("/proposals/<int:proposal_id>/revision")
@proposal_reader_required
def revise_proposal(proposal_id: int):
    found = proposal_for_staff(proposal_id)
    _may_draft(found)
    try:
        revision = proposals.revise(current_user, found, today_for(current_user))
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("internal.proposal", proposal_id=found.id), code=303)
    flash(_("Version %(version)s is a draft: change it, then send it.", version=revision.version), "info")
    return redirect(url_for("internal.proposal", proposal_id=revision.id), code=303)


@bp.get("/proposals/<int:proposal_id>/pdf")
@sends_file
@proposal_reader_required
def proposal_pdf(proposal_id: int):
    found = proposal_for_staff(proposal_id)
    audit.log("proposal.downloaded", actor=current_user, obj=found)
    return web.download(proposals.render_pdf(found), proposals.file_name(found), "application/pdf")
