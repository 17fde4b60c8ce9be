"""Relationship maintenance: when each account is due for its next return visit (DESIGN.md §2).

An account is due ``months`` after its last recorded contact, by its tier's cadence (strategic monthly, key
quarterly, ordinary half-yearly; editable), or on the next date the contact log planned, if earlier. An
account never contacted is due from when it was created.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Account, ContactLog, ReturnVisitCadence

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
        due = add_months(last_day or account.created_at.date(), cadence[account.tier])
        if planned_day is not None and last_day is not None and last_day <= planned_day < due:
            due = planned_day
        result.append(VisitDue(account, last_day, due))
    return sorted(result, key=lambda v: (v.due_on, v.account.id))
