"""Relationship maintenance: when each account is due for its next return visit (DESIGN.md §2).

An account is due ``months`` after its last recorded contact, by its tier's cadence (strategic monthly, key
quarterly, ordinary half-yearly; editable), or on the next date the contact log planned, if earlier. An
account never contacted is due from when it was created.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Account, ContactLog, ReturnVisitCadence, User
from portal.models.relations import CONTACT_KINDS
from portal.services import audit, submissions
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.unit_of_work import use_case
from portal.timeutil import today_for

DEFAULT_MONTHS = {"strategic": 1, "key": 3, "ordinary": 6}


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class VisitDue:
    account: Account
    last_contact: date | None
    due_on: date

    def overdue(self, today: date) -> bool:
        return self.due_on < today


def due_dates(accounts: list[Account] | None = None) -> list[VisitDue]:
    """Each active account's next return-visit date, earliest first (three SQL statements in all)."""
    if accounts is None:
        accounts = list(db.session.scalars(select(Account).where(Account.active).order_by(Account.id)))
    cadence = {
        **DEFAULT_MONTHS,
        **dict(db.session.execute(select(ReturnVisitCadence.tier, ReturnVisitCadence.months)).all()),
    }
    latest = (
        select(ContactLog.account_id, func.max(ContactLog.contacted_on).label("day"))
        .where(ContactLog.account_id.in_([a.id for a in accounts]))
        .group_by(ContactLog.account_id)
        .subquery()
    )
    last: dict[int, tuple[date | None, date | None]] = {}
    for account_id, contacted, planned in db.session.execute(
        select(ContactLog.account_id, ContactLog.contacted_on, ContactLog.next_planned_on).join(
            latest, (latest.c.account_id == ContactLog.account_id) & (latest.c.day == ContactLog.contacted_on)
        )
    ).all():
        previous = last.get(account_id)
        if previous is None or (planned and (previous[1] is None or planned < previous[1])):
            last[account_id] = (contacted, planned)
    result = []
    for account in accounts:
        last_day, planned_day = last.get(account.id) or (None, None)
        due = add_months(last_day or today_for(None, account.created_at), cadence[account.tier])
        if planned_day is not None and last_day is not None and last_day <= planned_day < due:
            due = planned_day
        result.append(VisitDue(account, last_day, due))
    return sorted(result, key=lambda v: (v.due_on, v.account.id))


# --- recording contacts and the cadence ------------------------------------------------------------------


@use_case
def record_contact(
    account: Account,
    staff: User,
    *,
    kind: str,
    contacted_on: date,
    participants: str,
    notes: str,
    next_planned_on: date | None,
    today: date,
    idempotency_key: str | None = None,
) -> ContactLog:
    if not permissions.can_record_contact(staff, account):
        raise NotAllowed(str(_l("Only staff record contacts with an account.")))
    submissions.made(submissions.claim(staff, idempotency_key, "contact"), account.id)
    if kind not in CONTACT_KINDS:
        raise InvalidInput("kind", str(_l("Choose what kind of contact it was.")))
    if contacted_on > today:
        raise InvalidInput("contacted_on", str(_l("A contact cannot be in the future.")))
    if next_planned_on is not None and next_planned_on < contacted_on:
        raise InvalidInput("next_planned_on", str(_l("The next contact must come after this one.")))
    log = ContactLog(
        account_id=account.id,
        staff_id=staff.id,
        kind=kind,
        contacted_on=contacted_on,
        participants=participants.strip()[:300],
        notes=notes.strip()[:5000],
        next_planned_on=next_planned_on,
    )
    db.session.add(log)
    audit.record(
        "account.contact_recorded", actor=staff, obj=account, kind=kind, day=contacted_on.isoformat()
    )
    return log


def contact_history(account: Account) -> list[ContactLog]:
    return list(
        db.session.scalars(
            select(ContactLog)
            .where(ContactLog.account_id == account.id)
            .options(selectinload(ContactLog.staff))
            .order_by(ContactLog.contacted_on.desc(), ContactLog.id.desc())
        )
    )


def cadences() -> dict[str, int]:
    stored = dict(db.session.execute(select(ReturnVisitCadence.tier, ReturnVisitCadence.months)).all())
    return {tier: stored.get(tier, months) for tier, months in DEFAULT_MONTHS.items()}


@use_case
def set_cadences(admin: User, months: dict[str, int]) -> None:
    """All three or none: a bad value refuses the whole change."""
    for tier, value in months.items():
        if tier not in DEFAULT_MONTHS:
            raise InvalidInput(tier, str(_l("Unknown tier.")))
        if not 1 <= value <= 24:
            raise InvalidInput(tier, str(_l("Give between 1 and 24 months.")))
    for tier, value in months.items():
        row = db.session.get(ReturnVisitCadence, tier)
        if row is None:
            db.session.add(ReturnVisitCadence(tier=tier, months=value))
        else:
            row.months = value
    audit.record("policy.cadence_changed", actor=admin, **{tier: str(v) for tier, v in months.items()})


def accounts_for(user: User) -> list[Account]:
    """The active accounts whose visits a person looks after: those they may see (permissions)."""
    query = select(Account).where(Account.active, permissions.account_condition(user))
    return list(
        db.session.scalars(query.options(selectinload(Account.account_manager)).order_by(Account.name))
    )
