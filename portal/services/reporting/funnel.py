"""The pipeline's numbers for a period (the manager dashboard's funnel), each with the rows behind it.

- **Prospects recorded** in the period (by industry and size of the dashboard's filter), by the stage they
  are at now and by source; **conversion**: the share of them won.
- **Days from first contact to signature**: for the contracts signed off in the period that a prospect's
  accepted proposal made, the median of the days from that prospect's first contact to the sign-off.
- **Proposals** answered in the period: accepted, changes asked for, declined.
- **Renewals**: signed contracts whose term ends in the period (due), and those of them that a signed
  renewal contract continues (renewed).

Each figure is one SQL statement whatever the history's length; ``behind(scope, measure)`` lists what a
figure counts, so the dashboard's numbers can be opened like the five KPIs'.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.orm import aliased, selectinload

from portal.extensions import db
from portal.models import Contract, Proposal, Prospect, ProspectActivity
from portal.models.pipeline import PROSPECT_SOURCES, PROSPECT_STAGES
from portal.services.reporting.kpi import Scope

MEASURES = (
    "recorded",
    "won",
    "signed",
    "accepted",
    "changes_requested",
    "declined",
    "renewals_due",
    "renewed",
)


@dataclass
class Funnel:
    recorded: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    won: int = 0
    signed: int = 0
    median_days_to_signature: float | None = None
    answers: dict[str, int] = field(default_factory=dict)
    renewals_due: int = 0
    renewed: int = 0

    @property
    def conversion(self) -> float | None:
        return self.won / self.recorded if self.recorded else None


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    zone = ZoneInfo(scope.zone)
    return (
        datetime.combine(scope.start, time(), tzinfo=zone),
        datetime.combine(scope.end + timedelta(days=1), time(), tzinfo=zone),
    )


def _prospects(scope: Scope) -> ColumnElement[bool]:
    since, until = _bounds(scope)
    conditions = [Prospect.created_at >= since, Prospect.created_at < until]
    if scope.industry:
        conditions.append(Prospect.industry == scope.industry)
    if scope.size:
        conditions.append(Prospect.size == scope.size)
    return and_(*conditions)


def _signed_from_prospects(scope: Scope) -> Select[Contract, datetime]:
    """(contract, the prospect's first contact) for contracts signed off in the period that a prospect's
    accepted proposal made."""
    since, until = _bounds(scope)
    first_contact = (
        select(func.min(ProspectActivity.created_at))
        .where(ProspectActivity.prospect_id == Prospect.id, ProspectActivity.kind == "first_contact")
        .correlate(Prospect)
        .scalar_subquery()
    )
    return (
        select(Contract, first_contact)
        .join(Proposal, Proposal.contract_id == Contract.id)
        .join(Prospect, Prospect.id == Proposal.prospect_id)
        .where(Contract.signed_at >= since, Contract.signed_at < until, _prospects_filter_only(scope))
    )


def _prospects_filter_only(scope: Scope) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if scope.industry:
        conditions.append(Prospect.industry == scope.industry)
    if scope.size:
        conditions.append(Prospect.size == scope.size)
    return and_(true(), *conditions)


def _answered(scope: Scope) -> ColumnElement[bool]:
    since, until = _bounds(scope)
    return and_(Proposal.answered_at >= since, Proposal.answered_at < until)


def _renewals_due(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Contract.state.in_(("signed", "terminated")),
        Contract.end_date >= scope.start,
        Contract.end_date <= scope.end,
    )


def _renewed() -> ColumnElement[bool]:
    renewal = aliased(Contract)
    return select(renewal.id).where(renewal.renews_id == Contract.id, renewal.state == "signed").exists()


def assess(scope: Scope) -> Funnel:
    found = Funnel()
    by_stage_source = db.session.execute(
        select(Prospect.stage, Prospect.source, func.count())
        .where(_prospects(scope))
        .group_by(Prospect.stage, Prospect.source)
    ).all()
    found.by_stage = dict.fromkeys(PROSPECT_STAGES, 0)
    found.by_source = dict.fromkeys(PROSPECT_SOURCES, 0)
    for stage, source, count in by_stage_source:
        found.by_stage[stage] += count
        found.by_source[source] += count
    found.recorded = sum(found.by_stage.values())
    found.won = found.by_stage["won"]
    days = [
        (contract.signed_at - first).total_seconds() / 86400
        for contract, first in db.session.execute(_signed_from_prospects(scope)).all()
        if first is not None and contract.signed_at is not None
    ]
    found.signed = len(days)
    found.median_days_to_signature = round(statistics.median(days), 1) if days else None
    found.answers = dict.fromkeys(("accepted", "changes_requested", "declined"), 0) | dict(
        db.session.execute(
            select(Proposal.state, func.count()).where(_answered(scope)).group_by(Proposal.state)
        ).all()
    )
    due, renewed = db.session.execute(
        select(func.count(), func.count().filter(_renewed()))
        .select_from(Contract)
        .where(_renewals_due(scope))
    ).one()
    found.renewals_due, found.renewed = due, renewed
    return found


@dataclass(frozen=True)
class Row:
    """One thing behind a figure: what it is, whose, when, and where it opens (an endpoint and its id)."""

    name: str
    detail: str
    day: date | None
    endpoint: str
    values: dict[str, int]


def behind(scope: Scope, measure: str, locale: str, stage: str | None = None, limit: int = 500) -> list[Row]:
    """What a figure counts, newest first (at most ``limit``); names in ``locale``."""
    if measure in ("recorded", "won"):
        prospects = select(Prospect).where(_prospects(scope))
        if measure == "won":
            prospects = prospects.where(Prospect.stage == "won")
        elif stage in PROSPECT_STAGES:
            prospects = prospects.where(Prospect.stage == stage)
        return [
            Row(p.name, p.stage, p.created_at.date(), "internal.prospect", {"prospect_id": p.id})
            for p in db.session.scalars(prospects.order_by(Prospect.created_at.desc()).limit(limit))
        ]
    if measure == "signed":
        return [
            Row(
                c.account.display_name(locale),
                c.number,
                c.signed_at.date() if c.signed_at else None,
                "admin.contract",
                {"contract_id": c.id},
            )
            for c, _first in db.session.execute(
                _signed_from_prospects(scope)
                .options(selectinload(Contract.account))
                .order_by(Contract.signed_at.desc())
                .limit(limit)
            ).all()
        ]
    if measure in ("accepted", "changes_requested", "declined"):
        answered = (
            select(Proposal)
            .where(_answered(scope), Proposal.state == measure)
            .options(selectinload(Proposal.account), selectinload(Proposal.prospect))
            .order_by(Proposal.answered_at.desc())
            .limit(limit)
        )
        return [
            Row(
                p.customer_name(locale),
                f"{p.number} v{p.version}",
                p.answered_at.date() if p.answered_at else None,
                "internal.proposal",
                {"proposal_id": p.id},
            )
            for p in db.session.scalars(answered)
        ]
    contracts = select(Contract).where(_renewals_due(scope)).options(selectinload(Contract.account))
    if measure == "renewed":
        contracts = contracts.where(_renewed())
    return [
        Row(c.account.display_name(locale), c.number, c.end_date, "admin.contract", {"contract_id": c.id})
        for c in db.session.scalars(contracts.order_by(Contract.end_date.desc()).limit(limit))
    ]
