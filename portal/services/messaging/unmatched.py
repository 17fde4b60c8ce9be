"""Mail that matched no request, for the people who triage: what waits (newest first), one message read
back, and putting one aside once it has been dealt with. Ignored mail (auto-replies, bounces) is not shown:
nobody needs to act on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from portal import permissions
from portal.extensions import db
from portal.models import InboundMail, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.errors import NotAllowed
from portal.services.unit_of_work import use_case

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
    if not permissions.can_dismiss_mail(actor):
        raise NotAllowed("only a lead or an administrator puts mail aside")
    if mail.dismissed_at is None:
        mail.dismissed_at, mail.dismissed_by_id = now or utcnow(), actor.id
        audit.record(
            "inbound_mail.dismissed", actor=actor, obj=mail, sender=mail.sender, subject=mail.subject
        )
    return mail
