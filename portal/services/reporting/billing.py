"""Billable work for finance: the time entries and on-site visits of a period, with the contract and
entitlement they are booked against and whether the request went beyond the contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import Account, Contract, ServiceRequest, TimeEntry, User
from portal.services.contracts import entitlements

COLUMNS = [
    "kind",
    "date",
    "account",
    "contract",
    "request",
    "title",
    "category",
    "subtype",
    "person",
    "minutes",
    "days",
    "billable",
    "entitlement",
    "over_entitlement",
]


def _beyond(contract_ids: set[int], as_of: datetime) -> set[int]:
    """The requests that went beyond their contract by ``as_of`` (the ledger's own count)."""
    contracts = db.session.scalars(select(Contract).where(Contract.id.in_(contract_ids)))
    return {b.request.id for c in contracts for b in entitlements.requests_beyond(c, as_of)}


def rows(start: date, end: date, zone: str = "Asia/Shanghai") -> Iterator[list[Any]]:
    entries = db.session.execute(
        select(TimeEntry, ServiceRequest, Account.name, Contract.number, User.full_name)
        .join(ServiceRequest, ServiceRequest.id == TimeEntry.request_id)
        .join(Account, Account.id == ServiceRequest.account_id)
        .join(User, User.id == TimeEntry.user_id)
        .outerjoin(Contract, Contract.id == TimeEntry.contract_id)
        .where(TimeEntry.work_date >= start, TimeEntry.work_date <= end)
        .order_by(TimeEntry.work_date, TimeEntry.id)
    ).all()
    since = datetime.combine(start, time(), tzinfo=ZoneInfo(zone))
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=ZoneInfo(zone))
    engineer = aliased(User)
    visits = db.session.execute(
        select(ServiceRequest, Account.name, Contract.number, engineer.full_name)
        .join(Account, Account.id == ServiceRequest.account_id)
        .outerjoin(Contract, Contract.id == ServiceRequest.contract_id)
        .outerjoin(engineer, engineer.id == ServiceRequest.visit_engineer_id)
        .where(ServiceRequest.scheduled_visit_at >= since, ServiceRequest.scheduled_visit_at < until)
        .order_by(ServiceRequest.scheduled_visit_at, ServiceRequest.id)
    ).all()
    requests = [r for _, r, *_ in entries] + [r for r, *_ in visits]
    contract_ids = {r.contract_id for r in requests if r.contract_id}
    beyond = _beyond(contract_ids, min(until, datetime.now(ZoneInfo(zone))))

    def over(request: ServiceRequest) -> str:
        return "yes" if request.over_entitlement or request.id in beyond else "no"

    for entry, request, account, contract, person in entries:
        yield [
            "time",
            entry.work_date.isoformat(),
            account,
            contract or "",
            request.reference,
            request.title,
            request.category,
            request.subtype,
            person,
            entry.minutes,
            "",
            "yes" if entry.billable else "no",
            "support_hours" if contract else "",
            over(request),
        ]
    for request, account, contract, person in visits:
        assert request.scheduled_visit_at is not None
        yield [
            "visit",
            request.scheduled_visit_at.astimezone(ZoneInfo(zone)).date().isoformat(),
            account,
            contract or "",
            request.reference,
            request.title,
            request.category,
            request.subtype,
            person or "",
            request.visit_duration_minutes or "",
            str(request.visit_days or 1),
            "yes",
            ("training_sessions" if request.subtype == "training" else "on_site_days") if contract else "",
            over(request),
        ]
