"""The entitlement ledger: what each contract includes, what has been used, what open requests hold,
what is left, and when it runs out at the current pace. Computed from requests and time entries booked
against the contract (aggregated in SQL), never typed in by hand; customers, staff and finance see the
same figures.

What a request uses:
- on-site training uses one training session when the contract has them, otherwise on-site days;
- any other on-site request uses its visit days (one when none were given);
- a custom report, industry news or market analysis uses one report;
- support hours are the billable time logged against the contract.
A finished request (resolved or closed) counts as used; an open one reserves; a cancelled one counts not.
A report request counts as used as soon as a deliverable is published on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Contract, Deliverable, Entitlement, ServiceRequest, TimeEntry
from portal.models.requests import OPEN_STATUSES

REPORT_SUBTYPES = ("custom_report", "industry_news", "market_analysis")
DONE_STATUSES = ("resolved", "closed")


@dataclass
class LedgerLine:
    entitlement: Entitlement
    included: Decimal
    used: Decimal
    reserved: Decimal
    runs_out_on: date | None = None  # None: lasts the term at the current pace

    @property
    def remaining(self) -> Decimal:
        return self.included - self.used - self.reserved

    @property
    def over(self) -> bool:
        return self.remaining < 0

    @property
    def left(self) -> Decimal:
        """What is still to use: never below nothing."""
        return max(self.remaining, Decimal(0))

    @property
    def overage(self) -> Decimal:
        """How far use and reservations go beyond what the contract includes."""
        return max(-self.remaining, Decimal(0))


def _kind_of_request(has_training: bool) -> ColumnElement[str]:
    """SQL that names the entitlement kind a request uses (NULL: none)."""
    training = "training_sessions" if has_training else "on_site_days"
    return case(
        (and_(ServiceRequest.category == "on_site", ServiceRequest.subtype == "training"), training),
        (ServiceRequest.category == "on_site", "on_site_days"),
        (
            and_(ServiceRequest.category == "value_added", ServiceRequest.subtype.in_(REPORT_SUBTYPES)),
            "custom_reports",
        ),
        else_=None,
    )


def request_amount(request: ServiceRequest, has_training: bool) -> tuple[str | None, Decimal]:
    """(entitlement kind, amount) one request uses — the same rule as the SQL, for previews."""
    if request.category == "on_site":
        if request.subtype == "training" and has_training:
            return "training_sessions", Decimal(1)
        return "on_site_days", Decimal(request.visit_days or 1)
    if request.category == "value_added" and request.subtype in REPORT_SUBTYPES:
        return "custom_reports", Decimal(1)
    return None, Decimal(0)


def contract_ledger(contract: Contract, today: date) -> list[LedgerLine]:
    return contract_ledgers([contract], today)[contract.id]


def contract_ledgers(
    contracts: list[Contract], today: date, as_of: datetime | None = None, as_of_day: date | None = None
) -> dict[int, list[LedgerLine]]:
    """One line per entitlement of each contract: two SQL statements whatever the number of contracts or
    requests. Training is counted apart in SQL and folded in here, since whether it uses a training
    session or on-site days depends on the contract.

    ``as_of`` (a moment in the past, e.g. the end of a summary's period) gives the ledger as it stood then:
    requests filed by then, used if finished (or their report delivered) by then, reserved if still open
    then; billable time of the days up to ``as_of_day``. Without it, the ledger as it stands now."""
    ids = [c.id for c in contracts]
    service = case(
        (and_(ServiceRequest.category == "on_site", ServiceRequest.subtype == "training"), "training"),
        (ServiceRequest.category == "on_site", "on_site_days"),
        (
            and_(ServiceRequest.category == "value_added", ServiceRequest.subtype.in_(REPORT_SUBTYPES)),
            "custom_reports",
        ),
        else_=None,
    )
    days = func.coalesce(ServiceRequest.visit_days, 1)
    # A report request whose report is delivered counts as used even before it is resolved.
    delivered = and_(
        service == "custom_reports",
        select(Deliverable.id).where(Deliverable.request_id == ServiceRequest.id).exists(),
    )
    if as_of is None:
        done = or_(ServiceRequest.status.in_(DONE_STATUSES), delivered)
        running = and_(ServiceRequest.status.in_(OPEN_STATUSES), ~delivered)
    else:
        done, running = _done_and_running_at(as_of, service)
    rows = db.session.execute(
        select(
            ServiceRequest.contract_id,
            service,
            func.coalesce(func.sum(days).filter(done), 0),
            func.coalesce(func.sum(days).filter(running), 0),
            func.count().filter(done),
            func.count().filter(running),
        )
        .where(ServiceRequest.contract_id.in_(ids), service.is_not(None))
        .group_by(ServiceRequest.contract_id, service)
    ).all()
    minutes = dict(
        db.session.execute(
            select(TimeEntry.contract_id, func.sum(TimeEntry.minutes))
            .where(TimeEntry.contract_id.in_(ids), TimeEntry.billable)
            .where(TimeEntry.work_date <= as_of_day if as_of_day is not None else true())
            .group_by(TimeEntry.contract_id)
        ).all()
    )
    totals: dict[int, dict[str, list[Decimal]]] = {i: {} for i in ids}
    kinds = {c.id: {e.kind for e in c.entitlements} for c in contracts}
    for contract_id, code, used_days, reserved_days, used_count, reserved_count in rows:
        if code == "training" and "training_sessions" in kinds[contract_id]:
            code, used, reserved = "training_sessions", used_count, reserved_count
        elif code in ("training", "on_site_days"):
            code, used, reserved = "on_site_days", used_days, reserved_days
        else:
            used, reserved = used_count, reserved_count
        sums = totals[contract_id].setdefault(code, [Decimal(0), Decimal(0)])
        sums[0] += Decimal(str(used))
        sums[1] += Decimal(str(reserved))
    ledgers: dict[int, list[LedgerLine]] = {}
    for contract in contracts:
        hours = (Decimal(minutes.get(contract.id) or 0) / 60).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        totals[contract.id]["support_hours"] = [hours, Decimal(0)]
        lines = []
        for entitlement in contract.entitlements:
            used, reserved = totals[contract.id].get(entitlement.kind, (Decimal(0), Decimal(0)))
            line = LedgerLine(entitlement, Decimal(entitlement.quantity), used, reserved)
            line.runs_out_on = _runs_out_on(contract, line, today)
            lines.append(line)
        ledgers[contract.id] = sorted(lines, key=lambda line: line.entitlement.id)
    return ledgers


def _done_and_running_at(as_of: datetime, service: ColumnElement[Any]) -> tuple[Any, Any]:
    """SQL for "finished by ``as_of``" and "filed and still open at ``as_of``"."""
    delivered = and_(
        service == "custom_reports",
        select(Deliverable.id)
        .where(Deliverable.request_id == ServiceRequest.id, Deliverable.published_at < as_of)
        .exists(),
    )
    finished = and_(ServiceRequest.resolved_at.is_not(None), ServiceRequest.resolved_at < as_of)
    cancelled = and_(ServiceRequest.cancelled_at.is_not(None), ServiceRequest.cancelled_at < as_of)
    done = and_(or_(finished, delivered), ~cancelled)
    running = and_(ServiceRequest.created_at < as_of, ~finished, ~delivered, ~cancelled)
    return done, running


@dataclass(frozen=True)
class Beyond:
    """A request that took the contract past what it includes."""

    request: ServiceRequest
    kind: str
    amount: Decimal  # what the request uses
    over_by: Decimal  # the part of it beyond the contract


def requests_beyond(contract: Contract, as_of: datetime | None = None) -> list[Beyond]:
    """The contract's requests, in the order they were filed, whose use went beyond what it includes —
    counted as the ledger counts (finished and open requests; as it stood at ``as_of`` when given)."""
    has_training = any(e.kind == "training_sessions" for e in contract.entitlements)
    included = {e.kind: Decimal(e.quantity) for e in contract.entitlements}
    service = _kind_of_request(has_training)
    if as_of is None:
        counted = or_(ServiceRequest.status.in_(DONE_STATUSES), ServiceRequest.status.in_(OPEN_STATUSES))
    else:
        done, running = _done_and_running_at(as_of, service)
        counted = or_(done, running)
    requests = db.session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.contract_id == contract.id, service.is_not(None), counted)
        .order_by(ServiceRequest.created_at, ServiceRequest.id)
    )
    totals: dict[str, Decimal] = {}
    found = []
    for request in requests:
        kind, amount = request_amount(request, has_training)
        if kind is None:
            continue
        before = totals.get(kind, Decimal(0))
        totals[kind] = before + amount
        limit = included.get(kind, Decimal(0))
        if totals[kind] > limit:
            found.append(Beyond(request, kind, amount, min(amount, totals[kind] - max(limit, before))))
    return found


def _runs_out_on(contract: Contract, line: LedgerLine, today: date) -> date | None:
    """At the pace of use since the contract started, the day the remainder is gone; None if that is after
    the contract ends, if nothing has been used yet, or if nothing is left (the ledger says "used up", not
    a day that has passed)."""
    if line.remaining <= 0:
        return None
    elapsed = (min(today, contract.end_date) - contract.start_date).days + 1
    consumed = line.used + line.reserved
    if elapsed <= 0 or consumed <= 0:
        return None
    days_left = int(line.remaining / (consumed / elapsed))
    day = today + timedelta(days=days_left)
    return day if day <= contract.end_date else None


def requests_behind(contract: Contract) -> list[ServiceRequest]:
    """The requests booked against the contract that use an entitlement, newest first."""
    has_training = any(e.kind == "training_sessions" for e in contract.entitlements)
    return list(
        db.session.scalars(
            select(ServiceRequest)
            .where(
                ServiceRequest.contract_id == contract.id,
                _kind_of_request(has_training).is_not(None),
                or_(ServiceRequest.status.in_(DONE_STATUSES), ServiceRequest.status.in_(OPEN_STATUSES)),
            )
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        )
    )


def time_behind(contract: Contract) -> list[TimeEntry]:
    return list(
        db.session.scalars(
            select(TimeEntry)
            .where(TimeEntry.contract_id == contract.id, TimeEntry.billable)
            .options(selectinload(TimeEntry.request))
            .order_by(TimeEntry.work_date.desc(), TimeEntry.id.desc())
        )
    )
