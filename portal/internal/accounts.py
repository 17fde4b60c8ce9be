"""Relationship maintenance for staff: accounts due for a return visit (overdue first) with the person's
follow-ups, and an account page with its classification, contracts, open requests, survey results,
contact history and next due date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from portal import permissions, web
from portal.access import account_for_staff, follow_up_for_staff, internal_viewer_required
from portal.extensions import db
from portal.internal import bp, forms
from portal.models import Account, FollowUpTask, Prospect, ServiceRequest
from portal.models.requests import OPEN_STATUSES
from portal.rendering import render
from portal.services.contracts import entitlements
from portal.services.contracts.contracts import account_contracts
from portal.services.engagement import relationship, surveys
from portal.services.errors import DomainError, InvalidInput
from portal.services.pipeline import proposals
from portal.services.submissions import AlreadySubmitted
from portal.timeutil import today_for

DUE_SOON = timedelta(days=14)


def _state(due_on: Any, today: Any) -> str:
    if due_on < today:
        return "overdue"
    return "due_soon" if due_on <= today + DUE_SOON else "fine"


@bp.get("/accounts")
@internal_viewer_required
def accounts():
    today = today_for(current_user)
    due = relationship.due_dates(relationship.accounts_for(current_user))
    return render(
        "internal/accounts.html",
        rows=[(d, _state(d.due_on, today)) for d in due],
        follow_ups=surveys.open_follow_ups(current_user),
        today=today,
        done_form=forms.FollowUpDoneForm(formdata=None),
    )


def _account_page(account: Account, form: Any = None, status: int = 200) -> Response:
    today = today_for(current_user)
    contracts = account_contracts(account.id)
    (due,) = relationship.due_dates([account])
    open_requests = list(
        db.session.scalars(
            select(ServiceRequest)
            .where(
                ServiceRequest.account_id == account.id,
                ServiceRequest.status.in_(OPEN_STATUSES),
                permissions.request_condition(current_user),
            )
            .options(selectinload(ServiceRequest.department), selectinload(ServiceRequest.assignee))
            .order_by(ServiceRequest.created_at.desc())
            .limit(50)
        )
    )
    follow_ups = list(
        db.session.scalars(
            select(FollowUpTask)
            .where(FollowUpTask.account_id == account.id)
            .order_by(FollowUpTask.done_at.is_not(None), FollowUpTask.due_on, FollowUpTask.id)
            .limit(20)
        )
    )
    account_proposals = proposals.of_account(account, current_user)
    # The prospect it was won from, and the pre-sale work done then (they stay on the prospect's record).
    won_from = db.session.scalar(select(Prospect).where(Prospect.account_id == account.id).limit(1))
    presale = (
        list(
            db.session.scalars(
                select(ServiceRequest)
                .where(ServiceRequest.prospect_id == won_from.id, permissions.request_condition(current_user))
                .order_by(ServiceRequest.created_at.desc())
            )
        )
        if won_from is not None
        else []
    )
    return render(
        "internal/account.html",
        status=status,
        account=account,
        contracts=contracts,
        ledgers=entitlements.contract_ledgers(contracts, today),
        open_requests=open_requests,
        results=surveys.results(account_id=account.id),
        history=relationship.contact_history(account),
        due=due,
        state=_state(due.due_on, today),
        follow_ups=follow_ups,
        proposals=account_proposals,
        won_from=won_from,
        presale_requests=presale,
        renewed_ids={p.renews_id for p in account_proposals} | {c.renews_id for c in contracts},
        form=form or forms.ContactForm(formdata=None, contacted_on=today),
        done_form=forms.FollowUpDoneForm(formdata=None),
        today=today,
    )


@bp.get("/accounts/<int:account_id>")
@internal_viewer_required
def account_detail(account_id: int):
    return _account_page(account_for_staff(account_id))


@bp.post("/accounts/<int:account_id>/contacts")
@internal_viewer_required
def record_contact(account_id: int):
    account = account_for_staff(account_id)
    form = forms.ContactForm()
    if not form.validate_on_submit():
        return _account_page(account, form, 422)
    try:
        relationship.record_contact(
            account,
            current_user,
            kind=form.kind.data or "",
            contacted_on=form.contacted_on.data,
            participants=form.participants.data or "",
            notes=form.notes.data or "",
            next_planned_on=form.next_planned_on.data,
            today=today_for(current_user),
            idempotency_key=form.idempotency_key.data,
        )
    except AlreadySubmitted:
        pass  # sent twice: the first one is in the history
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="kind")
        return _account_page(account, form, 422)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(_("The contact is recorded."), "info")
    return redirect(url_for("internal.account_detail", account_id=account.id), code=303)


@bp.post("/follow-ups/<int:task_id>/done")
@internal_viewer_required
def finish_follow_up(task_id: int):
    task = follow_up_for_staff(task_id)
    form = forms.FollowUpDoneForm()
    if form.validate_on_submit():
        try:
            surveys.close_follow_up(task, current_user, form.note.data or "")
            flash(_("The follow-up is done."), "info")
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("internal.account_detail", account_id=task.account_id), code=303)
