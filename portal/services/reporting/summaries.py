"""Service summaries for finance (DESIGN.md §8): one account, one period, as a PDF.

``gather`` collects the figures — the same KPI functions the manager dashboard uses, the entitlement ledger
customers and staff see, and a few SQL aggregates — and ``render_pdf`` lays them out with
``templates/pdf/summary.html`` through WeasyPrint (``portal/services/pdf.py``: nothing is fetched; the
stylesheet and charts are inline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Account, Contract, Deliverable, ServiceRequest, TimeEntry
from portal.models.base import utcnow
from portal.services.contracts import entitlements
from portal.services.pdf import PDF_FONT, html_to_pdf
from portal.services.reporting import kpi


@dataclass
class Summary:
    account: Account
    start: date
    end: date
    language: str
    indicators: kpi.Indicators
    trend: list[tuple[date, kpi.Indicators]]
    by_category: dict[str, tuple[int, int]]  # category -> (submitted in period, resolved in period)
    contracts: list[Contract]
    ledgers: dict[int, list[entitlements.LedgerLine]]
    billable_minutes: int
    non_billable_minutes: int
    visits: int
    over_entitlement: list[entitlements.Beyond] = field(default_factory=list)
    reports: list[Deliverable] = field(default_factory=list)
    generated_at: Any = None

    @property
    def submitted(self) -> int:
        return sum(s for s, _ in self.by_category.values())


def gather(account: Account, start: date, end: date, language: str) -> Summary:
    scope = kpi.Scope(start=start, end=end, account_id=account.id)
    indicators, trend = kpi.assess_with_trend(scope)
    in_period = (ServiceRequest.created_at >= scope.since, ServiceRequest.created_at < scope.until)
    resolved_in = (ServiceRequest.resolved_at >= scope.since, ServiceRequest.resolved_at < scope.until)
    rows = db.session.execute(
        select(
            ServiceRequest.category,
            func.count().filter(*in_period),
            func.count().filter(*resolved_in),
        )
        .where(ServiceRequest.account_id == account.id)
        .group_by(ServiceRequest.category)
    ).all()
    by_category = {category: (submitted, resolved) for category, submitted, resolved in rows}
    minutes = dict(
        db.session.execute(
            select(TimeEntry.billable, func.coalesce(func.sum(TimeEntry.minutes), 0))
            .join(ServiceRequest, ServiceRequest.id == TimeEntry.request_id)
            .where(
                ServiceRequest.account_id == account.id,
                TimeEntry.work_date >= start,
                TimeEntry.work_date <= end,
            )
            .group_by(TimeEntry.billable)
        ).all()
    )
    visits = (
        db.session.scalar(
            select(func.count(ServiceRequest.id)).where(
                ServiceRequest.account_id == account.id,
                ServiceRequest.scheduled_visit_at >= scope.since,
                ServiceRequest.scheduled_visit_at < scope.until,
            )
        )
        or 0
    )
    contracts = list(
        db.session.scalars(
            select(Contract)
            .where(Contract.account_id == account.id, Contract.start_date <= end, Contract.end_date >= start)
            .options(selectinload(Contract.entitlements))
            .order_by(Contract.end_date.desc())
        )
    )
    # The ledgers as they stood at the period's end (not today's reservations), and the requests that went
    # beyond a contract by then.
    as_of = min(scope.until, utcnow())
    over = [beyond for contract in contracts for beyond in entitlements.requests_beyond(contract, as_of)]
    reports = list(
        db.session.scalars(
            select(Deliverable)
            .join(ServiceRequest, ServiceRequest.id == Deliverable.request_id)
            .where(
                ServiceRequest.account_id == account.id,
                Deliverable.published_at >= scope.since,
                Deliverable.published_at < scope.until,
            )
            .options(selectinload(Deliverable.request))
            .order_by(Deliverable.published_at)
        )
    )
    return Summary(
        account=account,
        start=start,
        end=end,
        language=language,
        indicators=indicators,
        trend=trend,
        by_category=by_category,
        contracts=contracts,
        ledgers=entitlements.contract_ledgers(contracts, min(end, as_of.date()), as_of=as_of, as_of_day=end),
        billable_minutes=int(minutes.get(True, 0)),
        non_billable_minutes=int(minutes.get(False, 0)),
        visits=visits,
        over_entitlement=over,
        reports=reports,
        generated_at=utcnow(),
    )


def file_name(account: Account, start: date, end: date, language: str, kind: str = "summary") -> str:
    """A file's name says whose it is and for when, in its own language: "华信银行 服务总结 2026-07-01–
    2026-09-30.pdf", "Huaxin Bank statement 2026-11-01–2026-11-30 v2.pdf"."""
    with force_locale(language):
        what = str(_l("Service summary") if kind == "summary" else _l("Statement"))
    if language == "en":
        what = what.lower()
    return f"{account.display_name(language)} {what} {start.isoformat()}–{end.isoformat()}.pdf"


def render_html(summary: Summary) -> str:
    with force_locale(summary.language):
        pattern = "MMM" if summary.language == "en" else "M月"

        def trend_points(name: str) -> list[tuple[str, float | None]]:
            return [(format_date(start, pattern), found.scores.get(name)) for start, found in summary.trend]

        return render_template(
            "pdf/summary.html", s=summary, font=PDF_FONT, hours=_hours, trend_points=trend_points
        )


def render_pdf(summary: Summary) -> bytes:
    return html_to_pdf(render_html(summary))


def _hours(minutes: int | float | None) -> Decimal:
    return (Decimal(minutes or 0) / 60).quantize(Decimal("0.1"))
