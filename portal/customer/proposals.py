"""Proposals made to the account, answered by its customer administrators: the list, one proposal with its
PDF, and the answer — accept, ask for changes, decline. A prospect's contact, who has no sign-in yet, opens
the same page from the link in the proposal's email (``review``), where the link is the only key and opens
that proposal's latest version only."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import web
from portal.access import proposal_for_customer, roles_required
from portal.customer import bp, forms
from portal.models import Proposal
from portal.rendering import render, sends_file
from portal.services import audit
from portal.services.errors import DomainError, InvalidInput
from portal.services.pipeline import proposals
from portal.timeutil import today_for, today_in


@bp.get("/proposals")
@roles_required("customer_admin")
def proposals_list():
    return render(
        "customer/proposals.html",
        rows=proposals.of_account(current_user.account, current_user),
        today=today_for(current_user),
    )


def _page(
    proposal: Proposal, form: forms.ProposalAnswerForm | None = None, *, token: str = "", status: int = 200
):
    today = today_for(current_user) if not token else _today()
    return render(
        "customer/proposal.html",
        p=proposal,
        form=form or forms.ProposalAnswerForm(formdata=None),
        today=today,
        answerable=proposals.answerable(proposal, today),
        token=token,
        answer_url=url_for("customer.review_answer", token=token)
        if token
        else url_for("customer.answer_proposal", proposal_id=proposal.id),
        pdf_url=url_for("customer.review_pdf", token=token)
        if token
        else url_for("customer.proposal_pdf", proposal_id=proposal.id),
        status=status,
    )


def _today():
    from flask import current_app

    return today_in(current_app.config["DEFAULT_TIMEZONE"])


def _answered(proposal: Proposal, form: forms.ProposalAnswerForm, token: str, by: object) -> Response:
    """Run the answer; back to the page with what it made, or the page again with every problem."""
    today = today_for(current_user) if not token else _today()
    answer, comment, name = form.answer.data or "", form.comment.data or "", form.name.data or ""
    try:
        if not form.validate():
            proposals.check_answer(proposal, answer, comment, today, name if token else "-")
            return _page(proposal, form, token=token, status=422)
        proposals.answer(proposal, answer, comment, today, by=by, name=name)  # type: ignore[arg-type]
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="comment")
        return _page(proposal, form, token=token, status=422)
    except DomainError as error:
        flash(str(error), "error")
    else:
        if answer == "accepted":
            flash(
                _("Thank you: the proposal is accepted and the contract is being prepared for signature.")
                + (
                    " " + _("An invitation to the portal is on its way to %(email)s.", email=proposal.sent_to)
                    if token and proposal.prospect_id
                    else ""
                ),
                "info",
            )
        else:
            flash(
                _(
                    "Thank you: your answer is passed on to %(name)s.",
                    name=proposal.sent_by.full_name if proposal.sent_by else "",
                ),
                "info",
            )
    target = (
        url_for("customer.review", token=token)
        if token
        else url_for("customer.proposal", proposal_id=proposal.id)
    )
    return redirect(target, code=303)


@bp.get("/proposals/<int:proposal_id>")
@roles_required("customer_admin")
def proposal(proposal_id: int):
    return _page(proposal_for_customer(proposal_id))


@bp.post("/proposals/<int:proposal_id>/answer")
@roles_required("customer_admin")
def answer_proposal(proposal_id: int):
    found = proposal_for_customer(proposal_id)
    return _answered(found, forms.ProposalAnswerForm(), "", current_user)


@bp.get("/proposals/<int:proposal_id>/pdf")
@sends_file
@roles_required("customer_admin")
def proposal_pdf(proposal_id: int):
    found = proposal_for_customer(proposal_id)
    audit.log("proposal.downloaded", actor=current_user, obj=found, ip_address=request.remote_addr or "")
    return web.download(proposals.render_pdf(found), proposals.file_name(found), "application/pdf")


# --- from the emailed link ---------------------------------------------------------------------------------


def _by_link(token: str) -> Proposal | Response:
    try:
        return proposals.proposal_for_review(token)
    except InvalidInput as error:
        return render("customer/proposal_closed.html", message=str(error), status=410)


@bp.get("/proposals/review/<token>")
def review(token: str):
    found = _by_link(token)
    return found if isinstance(found, Response) else _page(found, token=token)


@bp.post("/proposals/review/<token>")
def review_answer(token: str):
    found = _by_link(token)
    if isinstance(found, Response):
        return found
    return _answered(found, forms.ProposalAnswerForm(), token, None)


@bp.get("/proposals/review/<token>/pdf")
@sends_file
def review_pdf(token: str):
    found = _by_link(token)
    if isinstance(found, Response):
        return found
    audit.log(
        "proposal.downloaded", obj=found, actor_email=found.sent_to, ip_address=request.remote_addr or ""
    )
    return web.download(proposals.render_pdf(found), proposals.file_name(found), "application/pdf")
