"""Mail that matched no request, for the people who triage: what waits (newest first), one message read
back, and putting one aside once it has been dealt with. Ignored mail (auto-replies, bounces) is not shown:
nobody needs to act on it. A message from someone the portal does not know (a new person at a customer,
a colleague's private address) can be filed as a request for a contact the lead chooses."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from portal import permissions
from portal.extensions import db
from portal.models import Account, InboundMail, ServiceRequest, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.messaging import inbound
from portal.services.requests import intake, routing
from portal.services.storage import FileStore, FileUnreadable
from portal.services.unit_of_work import use_case
from portal.timeutil import today_for

WAITING = ("unmatched", "malformed")
PAGE_SIZE = 50


def waiting(before: int | None = None) -> tuple[list[InboundMail], int, int | None]:
    """A page of the mail that waits for someone, newest first, from the one after ``before`` (an id: a
    page costs the same however long the list), with how many wait in all and where the next page starts."""
    condition = InboundMail.outcome.in_(WAITING) & InboundMail.dismissed_at.is_(None)
    query = select(InboundMail).where(condition)
    if before is not None:
        query = query.where(InboundMail.id < before)
    rows = list(db.session.scalars(query.order_by(InboundMail.id.desc()).limit(PAGE_SIZE + 1)))
    total = db.session.scalar(select(func.count()).select_from(InboundMail).where(condition)) or 0
    more = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], total, more


def find(mail_id: int) -> InboundMail | None:
    """One message staff may look at: mail that matched nothing or could not be read (put aside or not)."""
    mail = db.session.get(InboundMail, mail_id)
    return mail if mail is not None and mail.outcome in WAITING else None


@use_case
def dismiss(mail: InboundMail, actor: User, now: datetime | None = None) -> InboundMail:
    """Put the message aside (it stays stored, off the list). Done twice, it keeps the first time."""
    if not permissions.can_handle_mail(actor):
        raise NotAllowed("only a lead or an administrator puts mail aside")
    if mail.dismissed_at is None:
        mail.dismissed_at, mail.dismissed_by_id = now or utcnow(), actor.id
        audit.record(
            "inbound_mail.dismissed", actor=actor, obj=mail, sender=mail.sender, subject=mail.subject
        )
    return mail


def contacts() -> list[User]:
    """Whom a message can be filed for: the people of the active accounts who may sign in, by account."""
    return list(
        db.session.scalars(
            select(User)
            .join(Account, Account.id == User.account_id)
            .where(User.role.in_(permissions.CUSTOMER_ROLES), User.active, Account.active)
            .options(contains_eager(User.account))
            .order_by(Account.name, User.full_name)
        )
    )


@use_case
def file_as_request(
    mail: InboundMail,
    contact: User,
    actor: User,
    *,
    files: FileStore,
    max_bytes: int,
    now: datetime | None = None,
) -> ServiceRequest:
    """File the message as a new request of the contact's account, by that contact, as new mail is filed
    (the service and priority of Routing rules → Requests by email, even while it is off: a person chose
    to), keeping all the text it carries and the files that pass the upload checks. The contact is told, as
    for their own mail. Done twice, it keeps the first request."""
    if not permissions.can_handle_mail(actor):
        raise NotAllowed("only a lead or an administrator files mail as a request")
    if mail.outcome == "filed" and mail.request is not None:
        return mail.request
    if mail.outcome != "unmatched":
        raise InvalidInput("contact", str(_l("Only readable mail can be filed as a request.")))
    account = contact.account
    if account is None or not permissions.can_file_request(contact, account) or not contact.may_sign_in:
        raise InvalidInput("contact", str(_l("Choose a contact of an active account who may sign in.")))
    try:
        message = inbound.parse(files.read(mail))
        description, uploads, refused = inbound.request_contents(message, forward=True, max_bytes=max_bytes)
    except (FileUnreadable, ValueError, LookupError, UnicodeError) as error:
        raise InvalidInput(
            "contact", str(_l("The message could not be read: %(problem)s", problem=error))
        ) from error
    now = now or utcnow()
    filed = intake.file_by_email(
        account,
        contact,
        inbound.title_of(mail.subject, description),
        description,
        uploads,
        intake=routing.mail_intake(),
        today=today_for(contact, now),
        files=files,
        max_bytes=max_bytes,
        now=now,
    )
    db.session.flush()
    mail.outcome, mail.cause, mail.request_id, mail.author_id = "filed", "", filed.id, contact.id
    mail.reason = "; ".join(
        [f"filed by {actor.email} for {contact.email}", *(f"file left out: {r}" for r in refused)]
    )
    audit.record(
        "inbound_mail.filed",
        actor=actor,
        obj=mail,
        sender=mail.sender,
        subject=mail.subject,
        request=filed.reference,
        contact=contact.email,
    )
    return filed
