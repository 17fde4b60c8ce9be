"""The periodic jobs: SLA sweep, auto-close, contract-expiry reminders, due return visits.

Each is idempotent — a notice carries a ``dedupe_key`` naming what it is about (the request and its due
time, the contract and the 60- or 30-day stage, the account and its due date), and the database refuses a
second one — so running a job twice, or on two workers at once, tells nobody twice. Each takes ``now`` /
``today`` so tests can drive the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Account, Contract, Notification, ServiceRequest, User
from portal.models.base import utcnow
from portal.models.requests import OPEN_STATUSES
from portal.services.engagement import relationship
from portal.services.messaging import notifications
from portal.services.pipeline import proposals
from portal.services.requests import lifecycle, sla
from portal.services.unit_of_work import use_case
from portal.timeutil import today_in

log = logging.getLogger(__name__)
EXPIRY_STAGES = (60, 30)  # days before the end


def _existing(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            db.session.scalars(
                select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys[start : start + 500]))
            )
        )
    return found


def _per_user(prefix: str) -> Callable[[User], str]:
    def key(user: User) -> str:
        return f"{prefix}:{user.id}"

    return key


def _commit_notices() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # another worker sent the same notice a moment ago
        db.session.rollback()


def sla_sweep(now: datetime | None = None) -> int:
    """Tell the department's leads once when an open request's resolution time is 80 % used, and once when
    it is breached. Paused clocks (waiting for the customer) are left alone."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(ServiceRequest).where(
            ServiceRequest.status.in_(OPEN_STATUSES),
            ServiceRequest.status != "waiting_customer",
            ServiceRequest.sla_paused_since.is_(None),
            ServiceRequest.resolution_at_risk_at <= now,
        )
    ).all()
    leads_of: dict[int | None, list[User]] = {}
    plans: list[tuple[ServiceRequest, User, str, str]] = []
    for request in candidates:
        if request.resolution_due_at is None:
            continue
        stage = "sla_breached" if now >= request.resolution_due_at else "sla_at_risk"
        if request.department_id not in leads_of:
            leads_of[request.department_id] = notifications.department_leads(
                db.session, request.department_id
            )
        recipients = leads_of[request.department_id] or ([request.assignee] if request.assignee else [])
        for lead in recipients:
            key = f"{stage}:{request.id}:{lead.id}:{request.resolution_due_at.isoformat()}"
            plans.append((request, lead, stage, key))
    done = _existing([key for *_, key in plans])
    told = 0
    for request, lead, stage, key in plans:
        if key in done:
            continue
        due = request.resolution_due_at.isoformat() if request.resolution_due_at else ""
        told += len(
            notifications.notify(
                [lead],
                stage,
                request=request,
                data={"ref": request.reference, "title": request.title, "due": due},
                dedupe_key=key,
                at=now,
            )
        )
    _commit_notices()
    return told


def auto_close(now: datetime | None = None) -> int:
    """Close requests resolved AUTO_CLOSE_DAYS ago that the customer neither confirmed nor reopened."""
    now = now or utcnow()
    days = int(current_app.config["AUTO_CLOSE_DAYS"])
    calendar = sla.load_calendar()
    ids = list(
        db.session.scalars(
            select(ServiceRequest.id).where(
                ServiceRequest.status == "resolved", ServiceRequest.resolved_at <= now - timedelta(days=days)
            )
        )
    )
    return sum(_close_if_still_resolved(request_id, now, days, calendar) for request_id in ids)


@use_case
def _close_if_still_resolved(request_id: int, now: datetime, days: int, calendar: sla.WorkCalendar) -> bool:
    """One request, one transaction, on its locked row: if the customer acted a moment ago, their action
    stands."""
    request = db.session.get(ServiceRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None or request.status != "resolved":
        return False
    event = lifecycle.apply(request, "close", None, now, calendar)
    event.data = {**event.data, "auto_close_days": days}
    return True


def contract_expiry(today: date | None = None) -> int:
    """60 and 30 days before a signed contract ends, tell its account manager and the customer admins."""
    today = today or today_in(current_app.config["DEFAULT_TIMEZONE"])
    contracts = db.session.scalars(
        select(Contract)
        .where(
            Contract.state == "signed",
            Contract.end_date >= today,
            Contract.end_date <= today + timedelta(days=max(EXPIRY_STAGES)),
        )
        .options(selectinload(Contract.account).selectinload(Account.account_manager))
    ).all()
    told = 0
    for contract in contracts:
        days_left = (contract.end_date - today).days
        stage = min(s for s in EXPIRY_STAGES if days_left <= s)
        admins = db.session.scalars(
            select(User).where(User.account_id == contract.account_id, User.role == "customer_admin")
        ).all()
        recipients = [*admins, contract.account.account_manager]
        told += len(
            notifications.notify(
                [u for u in recipients if u is not None],
                "contract_expiring",
                data={
                    "contract": contract.number,
                    "contract_id": contract.id,
                    **notifications.account_names(contract.account),
                    "account_id": contract.account_id,
                    "end": contract.end_date.isoformat(),
                    "days": days_left,
                },
                dedupe_key=_per_user(f"contract_expiring:{stage}:{contract.id}"),
            )
        )
    # The account manager is asked, once, to prepare the renewal proposal (until one is drafted).
    for contract in proposals.renewals_due(None, today):
        told += len(
            notifications.notify(
                [contract.account.account_manager] if contract.account.account_manager else [],
                "renewal_due",
                data={
                    "contract": contract.number,
                    "contract_id": contract.id,
                    **notifications.account_names(contract.account),
                    "end": contract.end_date.isoformat(),
                },
                dedupe_key=_per_user(f"renewal_due:{contract.id}"),
            )
        )
    _commit_notices()
    return told


def return_visits_due(today: date | None = None) -> int:
    """Tell each account manager once per due date when an account of theirs is due for a return visit."""
    today = today or today_in(current_app.config["DEFAULT_TIMEZONE"])
    accounts = list(
        db.session.scalars(
            select(Account)
            .where(Account.active, Account.account_manager_id.is_not(None))
            .options(selectinload(Account.account_manager))
        )
    )
    told = 0
    for due in relationship.due_dates(accounts):
        if due.due_on > today:
            break
        told += len(
            notifications.notify(
                [due.account.account_manager] if due.account.account_manager else [],
                "return_visit_due",
                data={
                    **notifications.account_names(due.account),
                    "account_id": due.account.id,
                    "due_on": due.due_on.isoformat(),
                },
                dedupe_key=f"return_visit:{due.account.id}:{due.due_on.isoformat()}",
            )
        )
    _commit_notices()
    return told
