"""The emails the task queue sends: a notice's email, a password reset link, an invitation link.

Each works in a session of its own (a task may run right after the caller's commit, in immediate mode
inside it), sends at most once per notice (the state moves from pending to sent), and builds links from the
configured site address. Reset and invitation links are made here, at sending time, and never stored.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.labels import label
from portal.models import InboundMail, Notification, Proposal, SurveyInvitation, User
from portal.models.accounts import CUSTOMER_ROLES
from portal.models.base import utcnow
from portal.services import background
from portal.services.identity import account_users, auth
from portal.services.messaging import mail, notifications, threads
from portal.services.pipeline import proposals

log = logging.getLogger(__name__)
LOST_AFTER = timedelta(minutes=30)


def link_for(notice: Notification, user: User, *, external: bool = True) -> str:
    """Where a notice leads its reader."""
    customer = user.role in CUSTOMER_ROLES
    if notice.request_id is not None:
        endpoint = "customer.request_detail" if customer else "internal.workspace"
        return url_for(endpoint, request_id=notice.request_id, _external=external)
    if notice.kind == "survey_invitation" and (notice.data or {}).get("invitation_id"):
        return url_for(
            "customer.answer_survey", invitation_id=notice.data["invitation_id"], _external=external
        )
    proposal_id = (notice.data or {}).get("proposal_id")
    if proposal_id:
        endpoint = "customer.proposal" if customer else "internal.proposal"
        return url_for(endpoint, proposal_id=proposal_id, _external=external)
    if notice.kind == "renewal_due" and (notice.data or {}).get("contract_id"):
        return url_for(
            "internal.new_renewal_proposal", contract_id=notice.data["contract_id"], _external=external
        )
    account_id = (notice.data or {}).get("account_id")
    if (
        not customer
        and account_id
        and notice.kind in ("follow_up_opened", "return_visit_due", "contract_expiring")
    ):
        return url_for("internal.account_detail", account_id=account_id, _external=external)
    contract_id = (notice.data or {}).get("contract_id")
    if customer and contract_id:
        return url_for("customer.contract_detail", contract_id=contract_id, _external=external)
    return url_for("customer.home" if customer else "internal.home", _external=external)


def send_notification_email(notification_id: int, *, last_try: bool = True) -> str:
    with Session(db.engine, expire_on_commit=False) as session:
        notice = session.get(Notification, notification_id)
        if notice is None or notice.email_state != "pending":
            return "skipped"
        user = session.get(User, notice.user_id)
        if user is None or not user.active:
            notice.email_state = "none"
            session.commit()
            return "skipped"
        survey = _survey_of(session, notice, user)
        with mail.as_recipient(user):
            at, day = mail.formatters(user)
            kind = notifications.KINDS[notice.kind]
            survey_link = (
                url_for("survey.answer_by_link", token=survey.token, _external=True) if survey else ""
            )
            reference = (notice.data or {}).get("ref")
            subject = f"[{reference}] {kind.title}" if reference else str(kind.title)
            email = mail.compose(
                user,
                "notification",
                subject=subject + " · " + _("Key Account Service Portal"),
                thread=threads.Thread(notice.request_id, user.id) if notice.request_id else None,
                answers=_answered_mail(session, notice),
                headline=str(kind.title),
                sentence=notifications.describe(notice, at, day),
                quote=(notice.data or {}).get("body") or "",
                link=survey_link
                if notice.kind == "survey_invitation" and survey_link
                else link_for(notice, user),
                survey_link=survey_link if notice.kind == "request_resolved" else "",
                preferences=url_for("auth.profile", _external=True, _anchor="notifications"),
            )
        notice.email_attempts += 1
        try:
            mail.deliver(email)
        except Exception:
            if last_try:
                notice.email_state = "failed"
            session.commit()
            log.warning("email of notification %s failed (attempt %s)", notice.id, notice.email_attempts)
            raise
        notice.email_state, notice.emailed_at = "sent", utcnow()
        session.commit()
        return "sent"


def _answered_mail(session: Session, notice: Notification) -> str:
    """The Message-ID of the mail that filed the request, when this acknowledges it."""
    if notice.kind != "request_acknowledged" or notice.request_id is None:
        return ""
    found = session.scalar(
        select(InboundMail.message_id).where(
            InboundMail.request_id == notice.request_id, InboundMail.outcome == "filed"
        )
    )
    return found or ""


def _survey_of(session: Session, notice: Notification, user: User) -> SurveyInvitation | None:
    """The open survey a resolved-request or survey notice invites to; its link goes in the email only."""
    if notice.kind not in ("request_resolved", "survey_invitation"):
        return None
    query = select(SurveyInvitation).where(
        SurveyInvitation.user_id == user.id,
        SurveyInvitation.answered_at.is_(None),
        SurveyInvitation.expires_at > utcnow(),
    )
    if notice.kind == "request_resolved":
        query = query.where(SurveyInvitation.request_id == notice.request_id)
    else:
        query = query.where(SurveyInvitation.id == (notice.data or {}).get("invitation_id"))
    return session.scalar(query)


def send_password_reset(user_id: int) -> None:
    with Session(db.engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return
        with mail.as_recipient(user):
            email = mail.compose(
                user,
                "password_reset",
                subject=_("Reset your password") + " · " + _("Key Account Service Portal"),
                link=url_for("auth.reset_password", token=auth.password_reset_token(user), _external=True),
                minutes=int(auth.PASSWORD_RESET_VALID.total_seconds() // 60),
            )
        mail.deliver(email)


def send_invitation(user_id: int, inviter_id: int) -> None:
    with Session(db.engine) as session:
        user, inviter = session.get(User, user_id), session.get(User, inviter_id)
        if user is None or inviter is None or not user.may_sign_in:
            return
        with mail.as_recipient(user):
            email = mail.compose(
                user,
                "invitation",
                subject=_("You are invited to the Key Account Service Portal"),
                inviter=inviter.full_name,
                # Staff belong to no account: their invitation names their role instead.
                account=user.account.display_name(mail.language_of(user)) if user.account else None,
                role=label("role", user.role),
                link=url_for(
                    "auth.accept_invitation", token=account_users.invitation_token(user), _external=True
                ),
                days=account_users.INVITATION_DAYS,
            )
        mail.deliver(email)


def send_proposal(proposal_id: int) -> None:
    """A prospect's proposal to its contact: a link to review and answer it, made here and never stored."""
    with Session(db.engine) as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None or proposal.prospect is None or proposal.state != "sent":
            return
        contact = mail.Addressee(
            email=proposal.sent_to,
            full_name=proposal.prospect.contact_name or proposal.prospect.name,
            locale=proposal.language,
        )
        with mail.as_recipient(contact):
            _at, day = mail.formatters(contact)
            email = mail.compose(
                contact,
                "proposal",
                subject=_("Our proposal %(number)s: %(title)s", number=proposal.number, title=proposal.title),
                proposal=proposal,
                sender=proposal.sent_by.full_name if proposal.sent_by else "",
                valid_until=day(proposal.valid_until),
                total=format_currency(proposal.total, proposal.currency),
                link=url_for("customer.review", token=proposals.review_token(proposal), _external=True),
            )
        mail.deliver(email)


def requeue_pending() -> int:
    """Hand over again the emails whose hand-over was lost (never tried, pending for a while)."""
    ids = list(
        db.session.scalars(
            select(Notification.id).where(
                Notification.email_state == "pending",
                Notification.email_attempts == 0,
                Notification.created_at < utcnow() - LOST_AFTER,
            )
        )
    )
    for notification_id in ids:
        background.enqueue("notification_email", notification_id)
    return len(ids)
