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

An entitlement counts over the whole term, or afresh each contract year (``period == "year"``: a year from
the start date, the last one ending with the contract): then its line is of the year that holds the
ledger's day, and only what was filed (or worked) in that year counts against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Contract, Deliverable, Entitlement, ServiceRequest, TimeEntry
from portal.models.requests import OPEN_STATUSES
from portal.timeutil import start_of_day

REPORT_SUBTYPES = ("custom_report", "industry_news", "market_analysis")
DONE_STATUSES = ("resolved", "closed")


@dataclass
class LedgerLine:
    entitlement: Entitlement
    included: Decimal
    used: Decimal
    reserved: Decimal
    runs_out_on: date | None = None  # None: lasts the term (or the year) at the current pace
    # For an entitlement counted each contract year: the year these figures are of; None for the term.
    year: tuple[date, date] | None = None

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


def contract_year(contract: Contract, day: date) -> tuple[date, date]:
    """The contract year that holds ``day`` (the first before the term, the last after it): a year from the
    start date, the last one ending with the contract."""
    day = min(max(day, contract.start_date), contract.end_date)
    start = contract.start_date + relativedelta(years=relativedelta(day, contract.start_date).years)
    return start, min(start + relativedelta(years=1) - timedelta(days=1), contract.end_date)


def _counts_by_year(contract: Contract) -> bool:
    return any(e.period == "year" for e in contract.entitlements)


def _year_bounds(contract: Contract, day: date) -> tuple[datetime, datetime]:
    """The contract year as moments: from its first day's start to the next day after its last, in the
    business calendar's zone (requests are filed at moments, contracts run by days)."""
    first, last = contract_year(contract, day)
    zone = current_app.config["DEFAULT_TIMEZONE"]
    return start_of_day(first, zone), start_of_day(last + timedelta(days=1), zone)


def _in_year(
    contracts: list[Contract], day: date, contract_column: Any, moment: Any, by_day: bool = False
) -> ColumnElement[bool]:
    """SQL: the row falls in its contract's current year (for contracts counting any entitlement by year)."""
    whens = []
    for contract in contracts:
        if not _counts_by_year(contract):
            continue
        if by_day:
            first, last = contract_year(contract, day)
            whens.append((and_(contract_column == contract.id, moment >= first, moment <= last), true()))
        else:
            start, end = _year_bounds(contract, day)
            whens.append((and_(contract_column == contract.id, moment >= start, moment < end), true()))
    return case(*whens, else_=false()) if whens else false()


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
    # The day whose contract year an entitlement counted by year is of: the ledger's own day.
    day = as_of_day or (as_of.date() if as_of is not None else today)
    in_year = _in_year(contracts, day, ServiceRequest.contract_id, ServiceRequest.created_at)
    rows = db.session.execute(
        select(
            ServiceRequest.contract_id,
            service,
            func.coalesce(func.sum(days).filter(done), 0),
            func.coalesce(func.sum(days).filter(running), 0),
            func.count().filter(done),
            func.count().filter(running),
            func.coalesce(func.sum(days).filter(and_(done, in_year)), 0),
            func.coalesce(func.sum(days).filter(and_(running, in_year)), 0),
            func.count().filter(and_(done, in_year)),
            func.count().filter(and_(running, in_year)),
        )
        .where(ServiceRequest.contract_id.in_(ids), service.is_not(None))
        .group_by(ServiceRequest.contract_id, service)
    ).all()
    worked_in_year = _in_year(contracts, day, TimeEntry.contract_id, TimeEntry.work_date, by_day=True)
    minutes = {
        contract_id: (total or 0, this_year or 0)
        for contract_id, total, this_year in db.session.execute(
            select(
                TimeEntry.contract_id,
                func.sum(TimeEntry.minutes),
                func.coalesce(func.sum(TimeEntry.minutes).filter(worked_in_year), 0),
            )
            .where(TimeEntry.contract_id.in_(ids), TimeEntry.billable)
            .where(TimeEntry.work_date <= as_of_day if as_of_day is not None else true())
            .group_by(TimeEntry.contract_id)
        ).all()
    }
    # contract -> kind -> [used, reserved, used this contract year, reserved this contract year]
    totals: dict[int, dict[str, list[Decimal]]] = {i: {} for i in ids}
    kinds = {c.id: {e.kind for e in c.entitlements} for c in contracts}
    for contract_id, code, *figures in rows:
        days_done, days_open, count_done, count_open, year_days_done, year_days_open, year_done, year_open = (
            figures
        )
        if code == "training" and "training_sessions" in kinds[contract_id]:
            code, amounts = "training_sessions", (count_done, count_open, year_done, year_open)
        elif code in ("training", "on_site_days"):
            code, amounts = "on_site_days", (days_done, days_open, year_days_done, year_days_open)
        else:
            amounts = (count_done, count_open, year_done, year_open)
        sums = totals[contract_id].setdefault(code, [Decimal(0)] * 4)
        for index, amount in enumerate(amounts):
            sums[index] += Decimal(str(amount))
    ledgers: dict[int, list[LedgerLine]] = {}
    for contract in contracts:
        total, this_year = minutes.get(contract.id, (0, 0))
        totals[contract.id]["support_hours"] = [_hours(total), Decimal(0), _hours(this_year), Decimal(0)]
        lines = []
        for entitlement in contract.entitlements:
            used, reserved, used_in_year, reserved_in_year = totals[contract.id].get(
                entitlement.kind, [Decimal(0)] * 4
            )
            if entitlement.period == "year":
                line = LedgerLine(
                    entitlement,
                    Decimal(entitlement.quantity),
                    used_in_year,
                    reserved_in_year,
                    year=contract_year(contract, day),
                )
            else:
                line = LedgerLine(entitlement, Decimal(entitlement.quantity), used, reserved)
            line.runs_out_on = _runs_out_on(contract, line, today)
            lines.append(line)
        ledgers[contract.id] = sorted(lines, key=lambda line: line.entitlement.id)
    return ledgers


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


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
    by_year = {e.kind for e in contract.entitlements if e.period == "year"}
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    totals: dict[tuple[str, date | None], Decimal] = {}
    found = []
    for request in requests:
        kind, amount = request_amount(request, has_training)
        if kind is None:
            continue
        # An entitlement counted by year starts afresh each contract year.
        year = (
            contract_year(contract, request.created_at.astimezone(zone).date())[0]
            if kind in by_year
            else None
        )
        before = totals.get((kind, year), Decimal(0))
        totals[(kind, year)] = before + amount
        limit = included.get(kind, Decimal(0))
        if totals[(kind, year)] > limit:
            found.append(
                Beyond(request, kind, amount, min(amount, totals[(kind, year)] - max(limit, before)))
            )
    return found


def _runs_out_on(contract: Contract, line: LedgerLine, today: date) -> date | None:
    """At the pace of use since the contract started, the day the remainder is gone; None if that is after
    the contract ends, if nothing has been used yet, or if nothing is left (the ledger says "used up", not
    a day that has passed)."""
    if line.remaining <= 0:
        return None
    first, last = line.year or (contract.start_date, contract.end_date)
    elapsed = (min(today, last) - first).days + 1
    consumed = line.used + line.reserved
    if elapsed <= 0 or consumed <= 0:
        return None
    days_left = int(line.remaining / (consumed / elapsed))
    day = today + timedelta(days=days_left)
    return day if day <= last else None


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
