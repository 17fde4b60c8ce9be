"""KPI assessment (the policy's chapter 5, DESIGN.md §9): one computation for an account, a department, a
cohort (industry, size, tier) or the whole company over a period, used by the manager dashboard, its CSV and
the finance summaries alike.

The five indicators and what each counts (a period is whole days in the company's time zone):
- customer satisfaction: mean CSAT rating (1–5) and NPS from surveys answered in the period; response rate
  of the invitations sent in the period;
- service quality: of the requests resolved in the period, the share resolved within their SLA, and the
  share reopened at least once;
- service efficiency: median business minutes to the first response (requests first answered in the
  period) and to resolution (resolved in the period), and the share of first responses within target;
- relationship maintenance: contacts recorded in the period against what the tiers' cadences ask for, and
  the accounts overdue for a return visit at the end of the period;
- value-added provision: value-added requests with a report delivered in the period, and the share
  delivered by the wanted-by date.

Every figure is an SQL aggregate (medians by ORDER BY/OFFSET, so SQLite and PostgreSQL agree); nothing loads
the requests into Python. The composite score maps each indicator to 0–100 and weighs them as the manager
set (equal by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select

from portal.extensions import db
from portal.models import (
    Account,
    ContactLog,
    Deliverable,
    KpiWeight,
    ServiceRequest,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyTemplate,
    User,
)
from portal.models.kpi import INDICATORS
from portal.services import audit
from portal.services.engagement import relationship
from portal.services.engagement.surveys import LOW_NPS
from portal.services.errors import InvalidInput
from portal.services.unit_of_work import use_case


@dataclass(frozen=True)
class Scope:
    start: date
    end: date  # inclusive
    department_id: int | None = None
    industry: str | None = None
    size: str | None = None
    tier: str | None = None
    account_id: int | None = None
    zone: str = "Asia/Shanghai"

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=ZoneInfo(self.zone))

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=ZoneInfo(self.zone))

    def cohort(self, account: Account) -> Scope:
        """The account's peers: same industry, size and tier, over the same period."""
        return replace(self, account_id=None, industry=account.industry, size=account.size, tier=account.tier)


@dataclass
class Indicators:
    # satisfaction
    csat_mean: float | None = None
    csat_answers: int = 0
    nps: int | None = None
    nps_answers: int = 0
    invitations: int = 0
    answered: int = 0
    # quality
    resolved: int = 0
    within_sla: int = 0
    reopened: int = 0
    # efficiency
    first_responses: int = 0
    first_response_within_target: int = 0
    median_first_response_minutes: float | None = None
    median_resolution_minutes: float | None = None
    # relationship
    contacts: int = 0
    contacts_expected: float = 0.0
    accounts_overdue: int = 0
    accounts: int = 0
    # value-added
    delivered: int = 0
    delivered_on_time: int = 0
    scores: dict[str, float | None] = field(default_factory=dict)
    composite: float | None = None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.invitations if self.invitations else None

    @property
    def within_sla_rate(self) -> float | None:
        return self.within_sla / self.resolved if self.resolved else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    @property
    def first_response_rate(self) -> float | None:
        return self.first_response_within_target / self.first_responses if self.first_responses else None

    @property
    def visits_rate(self) -> float | None:
        return self.contacts / self.contacts_expected if self.contacts_expected else None

    @property
    def on_time_rate(self) -> float | None:
        return self.delivered_on_time / self.delivered if self.delivered else None


# --- filters ---------------------------------------------------------------------------------------------


def _account_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.account_id is not None:
        conditions.append(Account.id == scope.account_id)
    if scope.industry:
        conditions.append(Account.industry == scope.industry)
    if scope.size:
        conditions.append(Account.size == scope.size)
    if scope.tier:
        conditions.append(Account.tier == scope.tier)
    return conditions


def requests_in(scope: Scope) -> Select[Any]:
    """Requests of the scope's accounts and department (no period yet); accounts are joined only when the
    scope filters by them."""
    query = select(ServiceRequest)
    conditions = _account_conditions(scope)
    if conditions:
        query = query.join(Account, Account.id == ServiceRequest.account_id)
    if scope.department_id is not None:
        conditions.append(ServiceRequest.department_id == scope.department_id)
    return query.where(*conditions)


def _between(column: Any, scope: Scope) -> ColumnElement[bool]:
    return and_(column >= scope.since, column < scope.until)


def _median(column: Any, scope: Scope, when: ColumnElement[bool]) -> float | None:
    base = requests_in(scope).where(when, column.is_not(None))
    count = db.session.scalar(base.with_only_columns(func.count())) or 0
    if not count:
        return None
    ordered = base.with_only_columns(column).order_by(column)
    values = list(db.session.scalars(ordered.offset((count - 1) // 2).limit(2 if count % 2 == 0 else 1)))
    return sum(values) / len(values)


# --- the five indicators ---------------------------------------------------------------------------------
# Each family of figures is one statement for any number of periods (the dashboard asks for the period, six
# months of trend and the cohort; it ran 82 statements). The periods are cut at every boundary into disjoint
# slices; the statement reads the periods' whole range once, by the index on its period column, groups its
# rows by slice (one CASE per row), and each period adds up the slices it covers.


class _Slices:
    def __init__(self, ranges: list[tuple[Any, Any]]) -> None:
        self.ranges = ranges  # [lower, upper) of each period
        self.bounds = sorted({b for r in ranges for b in r})

    def of(self, column: Any) -> Any:
        """The slice a row falls in (rows outside the whole range are filtered out by ``within``)."""
        whens = [(column < bound, i) for i, bound in enumerate(self.bounds[1:-1])]
        return case(*whens, else_=len(self.bounds) - 2) if whens else literal(0)

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.bounds[0], column < self.bounds[-1])

    def totals(self, rows: Any, width: int) -> list[list[Any]]:
        """Per period, the sums of the ``width`` figures after each row's slice number."""
        by_slice = {row[0]: row[1:] for row in rows}
        out = []
        for lower, upper in self.ranges:
            sums = [0] * width
            for i in range(len(self.bounds) - 1):
                if lower <= self.bounds[i] and self.bounds[i + 1] <= upper and i in by_slice:
                    sums = [a + (b or 0) for a, b in zip(sums, by_slice[i], strict=True)]
            out.append(sums)
        return out


def _grouped(query: Select[Any], slices: _Slices, column: Any, *figures: Any) -> list[list[Any]]:
    piece = slices.of(column).label("piece")
    rows = db.session.execute(
        query.where(slices.within(column)).with_only_columns(piece, *figures).group_by(piece)
    ).all()
    return slices.totals(rows, len(figures))


def _moments(periods: list[Scope]) -> _Slices:
    return _Slices([(p.since, p.until) for p in periods])


def _span(periods: list[Scope]) -> Scope:
    return replace(periods[0], start=min(p.start for p in periods), end=max(p.end for p in periods))


def _satisfaction(periods: list[Scope], found: list[Indicators]) -> None:
    scope, slices = _span(periods), _moments(periods)
    invited = (
        select(SurveyInvitation.id)
        .join(Account, Account.id == SurveyInvitation.account_id)
        .outerjoin(ServiceRequest, ServiceRequest.id == SurveyInvitation.request_id)
        .where(*_account_conditions(scope))
    )
    scores = (
        select(SurveyAnswer.id)
        .join(SurveyQuestion, SurveyAnswer.question_id == SurveyQuestion.id)
        .join(SurveyTemplate, SurveyTemplate.id == SurveyQuestion.template_id)
        .join(SurveyInvitation, SurveyInvitation.id == SurveyAnswer.invitation_id)
        .join(Account, Account.id == SurveyInvitation.account_id)
        .outerjoin(ServiceRequest, ServiceRequest.id == SurveyInvitation.request_id)
        .where(*_account_conditions(scope), SurveyAnswer.score.is_not(None))
    )
    if scope.department_id is not None:
        invited = invited.where(ServiceRequest.department_id == scope.department_id)
        scores = scores.where(ServiceRequest.department_id == scope.department_id)
    counted = _grouped(
        invited,
        slices,
        SurveyInvitation.created_at,
        func.count(SurveyInvitation.id),
        func.count(SurveyInvitation.answered_at),
    )
    csat = and_(SurveyQuestion.kind == "rating", SurveyTemplate.kind == "csat")
    nps = SurveyQuestion.kind == "nps"
    answered = _grouped(
        scores,
        slices,
        SurveyInvitation.answered_at,
        func.sum(SurveyAnswer.score).filter(csat),
        func.count().filter(csat),
        func.count().filter(nps, SurveyAnswer.score >= 9),
        func.count().filter(nps, SurveyAnswer.score <= LOW_NPS),
        func.count().filter(nps),
    )
    for indicators, (invitations, replies), row in zip(found, counted, answered, strict=True):
        total, csat_n, promoters, detractors, nps_n = row
        indicators.invitations, indicators.answered = invitations, replies
        indicators.csat_mean = total / csat_n if csat_n else None
        indicators.csat_answers, indicators.nps_answers = csat_n, nps_n
        indicators.nps = round(100 * (promoters - detractors) / nps_n) if nps_n else None


def _quality_and_efficiency(periods: list[Scope], found: list[Indicators], medians: bool) -> None:
    scope, slices = _span(periods), _moments(periods)
    # Two narrow aggregates, each served by the index on its period column.
    resolved = _grouped(
        requests_in(scope),
        slices,
        ServiceRequest.resolved_at,
        func.count(),
        func.count().filter(ServiceRequest.resolved_at <= ServiceRequest.resolution_due_at),
        func.count().filter(ServiceRequest.reopen_count > 0),
    )
    responded = _grouped(
        requests_in(scope),
        slices,
        ServiceRequest.first_responded_at,
        func.count(),
        func.count().filter(ServiceRequest.first_responded_at <= ServiceRequest.first_response_due_at),
    )
    for indicators, quality, efficiency in zip(found, resolved, responded, strict=True):
        indicators.resolved, indicators.within_sla, indicators.reopened = quality
        indicators.first_responses, indicators.first_response_within_target = efficiency
    if medians:  # the first period's only: the trend charts need the scores
        first = periods[0]
        found[0].median_first_response_minutes = _median(
            ServiceRequest.first_response_business_minutes,
            first,
            _between(ServiceRequest.first_responded_at, first),
        )
        found[0].median_resolution_minutes = _median(
            ServiceRequest.resolution_business_minutes, first, _between(ServiceRequest.resolved_at, first)
        )


def _relationship(periods: list[Scope], found: list[Indicators]) -> None:
    scope = _span(periods)
    accounts = list(db.session.scalars(select(Account).where(Account.active, *_account_conditions(scope))))
    for indicators in found:
        indicators.accounts = len(accounts)
    if not accounts:
        return
    days = _Slices([(p.start, p.end + timedelta(days=1)) for p in periods])
    contacts = _grouped(
        select(ContactLog.id).where(ContactLog.account_id.in_([a.id for a in accounts])),
        days,
        ContactLog.contacted_on,
        func.count(ContactLog.id),
    )
    cadence = relationship.cadences()
    due = relationship.due_dates(accounts)
    for p, indicators, (counted,) in zip(periods, found, contacts, strict=True):
        months = ((p.end - p.start).days + 1) / 30.4375
        indicators.contacts = counted
        indicators.contacts_expected = round(sum(months / cadence[a.tier] for a in accounts), 2)
        indicators.accounts_overdue = sum(1 for d in due if d.due_on < p.end)


def _value_added(periods: list[Scope], found: list[Indicators]) -> None:
    scope, slices = _span(periods), _moments(periods)
    first = (
        select(Deliverable.request_id, func.min(Deliverable.published_at).label("first_at"))
        .group_by(Deliverable.request_id)
        .subquery()
    )
    delivered = (
        requests_in(scope)
        .join(first, first.c.request_id == ServiceRequest.id)
        .where(ServiceRequest.category == "value_added")
    )
    # On time: delivered by the end of the wanted-by day (in the company's zone, to the day).
    on_time = or_(ServiceRequest.wanted_by.is_(None), func.date(first.c.first_at) <= ServiceRequest.wanted_by)
    counted = _grouped(delivered, slices, first.c.first_at, func.count(), func.count().filter(on_time))
    for indicators, (total, in_time) in zip(found, counted, strict=True):
        indicators.delivered, indicators.delivered_on_time = total, in_time


def weights() -> dict[str, int]:
    stored = dict(db.session.execute(select(KpiWeight.indicator, KpiWeight.weight)).all())
    return {indicator: stored.get(indicator, 1) for indicator in INDICATORS}


@use_case
def set_weights(manager: User, chosen: dict[str, int]) -> None:
    if set(chosen) != set(INDICATORS) or any(not 0 <= w <= 100 for w in chosen.values()):
        raise InvalidInput("weights", "each of the five weights must be between 0 and 100")
    if sum(chosen.values()) == 0:
        raise InvalidInput("weights", "at least one weight must be above 0")
    for indicator, weight in chosen.items():
        row = db.session.get(KpiWeight, indicator)
        if row is None:
            db.session.add(KpiWeight(indicator=indicator, weight=weight))
        else:
            row.weight = weight
    audit.record("kpi.weights_changed", actor=manager, **{k: str(v) for k, v in chosen.items()})


def _score(found: Indicators, chosen: dict[str, int]) -> None:
    def pct(rate: float | None) -> float | None:
        return None if rate is None else round(100 * rate, 1)

    satisfaction = (
        round((found.csat_mean - 1) / 4 * 100, 1)
        if found.csat_mean is not None
        else (round((found.nps + 100) / 2, 1) if found.nps is not None else None)
    )
    visits = found.visits_rate
    found.scores = {
        "satisfaction": satisfaction,
        "quality": pct(found.within_sla_rate),
        "efficiency": pct(found.first_response_rate),
        "relationship": None if visits is None else round(100 * min(visits, 1.0), 1),
        "value_added": pct(found.on_time_rate),
    }
    weighed = [(chosen[k], v) for k, v in found.scores.items() if v is not None and chosen[k] > 0]
    total = sum(w for w, _ in weighed)
    found.composite = round(sum(w * v for w, v in weighed) / total, 1) if total else None


def assess(scope: Scope, chosen: dict[str, int] | None = None, *, medians: bool = True) -> Indicators:
    """All five indicators; ``medians=False`` leaves out the two medians (the trend charts need only the
    scores)."""
    return assess_periods([scope], chosen, medians=medians)[0]


def assess_periods(
    periods: list[Scope], chosen: dict[str, int] | None = None, *, medians: bool = True
) -> list[Indicators]:
    """The indicators of several periods of one scope (the same accounts and department), in as many SQL
    statements as one period takes; the medians for the first period only."""
    found = [Indicators() for _ in periods]
    _satisfaction(periods, found)
    _quality_and_efficiency(periods, found, medians)
    _relationship(periods, found)
    _value_added(periods, found)
    chosen = chosen or weights()
    for indicators in found:
        _score(indicators, chosen)
    return found


def trend_months(scope: Scope, months: int = 6) -> list[Scope]:
    """The scope month by month, the last month being the one the period ends in."""
    first = date(scope.end.year, scope.end.month, 1)
    out = []
    for back in range(months - 1, -1, -1):
        start = relationship.add_months(first, -back)
        out.append(replace(scope, start=start, end=relationship.add_months(start, 1) - timedelta(days=1)))
    return out


def monthly_trend(scope: Scope, months: int = 6) -> list[tuple[date, Indicators]]:
    """The scope's indicators month by month, the last month being the one the period ends in."""
    periods = trend_months(scope, months)
    return [
        (p.start, found) for p, found in zip(periods, assess_periods(periods, medians=False), strict=True)
    ]


def assess_with_trend(scope: Scope, months: int = 6) -> tuple[Indicators, list[tuple[date, Indicators]]]:
    """The period's indicators and its monthly trend, together (one set of statements for all of them)."""
    periods = trend_months(scope, months)
    period, *trend = assess_periods([scope, *periods])
    return period, [(p.start, found) for p, found in zip(periods, trend, strict=True)]


# --- drill-down ------------------------------------------------------------------------------------------

MEASURES = (
    "resolved",
    "missed_sla",
    "reopened",
    "first_responses",
    "late_first_response",
    "delivered",
    "delivered_late",
    "rated",
    "low_rating",
)


def requests_behind(scope: Scope, measure: str) -> Select[Any]:
    """The requests a number on the dashboard counts (the same conditions as the aggregate)."""
    query = requests_in(scope)
    resolved_in = _between(ServiceRequest.resolved_at, scope)
    responded_in = _between(ServiceRequest.first_responded_at, scope)
    if measure == "resolved":
        return query.where(resolved_in)
    if measure == "missed_sla":
        return query.where(resolved_in, ServiceRequest.resolved_at > ServiceRequest.resolution_due_at)
    if measure == "reopened":
        return query.where(resolved_in, ServiceRequest.reopen_count > 0)
    if measure == "first_responses":
        return query.where(responded_in)
    if measure == "late_first_response":
        return query.where(
            responded_in, ServiceRequest.first_responded_at > ServiceRequest.first_response_due_at
        )
    if measure in ("delivered", "delivered_late"):
        first = (
            select(Deliverable.request_id, func.min(Deliverable.published_at).label("first_at"))
            .group_by(Deliverable.request_id)
            .subquery()
        )
        query = query.join(first, first.c.request_id == ServiceRequest.id).where(
            ServiceRequest.category == "value_added", _between(first.c.first_at, scope)
        )
        if measure == "delivered_late":
            query = query.where(
                ServiceRequest.wanted_by.is_not(None), func.date(first.c.first_at) > ServiceRequest.wanted_by
            )
        return query
    if measure in ("rated", "low_rating"):
        rated = (
            select(SurveyInvitation.request_id)
            .join(SurveyAnswer, SurveyAnswer.invitation_id == SurveyInvitation.id)
            .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .where(SurveyQuestion.kind == "rating", _between(SurveyInvitation.answered_at, scope))
        )
        if measure == "low_rating":
            rated = rated.where(SurveyAnswer.score <= 2)
        return query.where(ServiceRequest.id.in_(rated))
    raise InvalidInput("measure", "unknown measure")


# --- periods ---------------------------------------------------------------------------------------------


def period_bounds(
    kind: str, today: date, start: date | None = None, end: date | None = None
) -> tuple[date, date]:
    """(first day, last day) of a named period around ``today``; ``custom`` takes the given days."""
    month = date(today.year, today.month, 1)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if kind == "this_month":
        return month, today
    if kind == "last_month":
        first = relationship.add_months(month, -1)
        return first, month - timedelta(days=1)
    if kind == "last_quarter":
        first = relationship.add_months(quarter, -3)
        return first, quarter - timedelta(days=1)
    if kind == "this_year":
        return date(today.year, 1, 1), today
    if kind == "last_12_months":
        return relationship.add_months(month, -11), today
    if kind == "custom" and start and end:
        if end < start:
            raise InvalidInput("end", "the period ends before it starts")
        return start, end
    return quarter, today  # this quarter, the default


# --- durations recorded before they were measured --------------------------------------------------------


def backfill_durations(batch: int = 500) -> int:
    """Measure, in business minutes, the first responses and resolutions of requests handled before the
    portal recorded them as they happened. Idempotent: only empty measures are filled."""
    from portal.services.requests import sla

    calendar = sla.load_calendar()
    filled = 0
    while True:
        rows = list(
            db.session.scalars(
                select(ServiceRequest)
                .where(
                    or_(
                        and_(
                            ServiceRequest.first_responded_at.is_not(None),
                            ServiceRequest.first_response_business_minutes.is_(None),
                        ),
                        and_(
                            ServiceRequest.resolved_at.is_not(None),
                            ServiceRequest.resolution_business_minutes.is_(None),
                        ),
                    )
                )
                .order_by(ServiceRequest.id)
                .limit(batch)
            )
        )
        if not rows:
            return filled
        for request in rows:
            if request.first_responded_at is not None and request.first_response_business_minutes is None:
                request.first_response_business_minutes = sla.business_minutes_between(
                    calendar, request.created_at, request.first_responded_at
                )
            if request.resolved_at is not None and request.resolution_business_minutes is None:
                worked = sla.business_minutes_between(calendar, request.created_at, request.resolved_at)
                request.resolution_business_minutes = max(worked - request.sla_paused_minutes, 0)
            filled += 1
        db.session.commit()
