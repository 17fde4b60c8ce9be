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

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

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


def _satisfaction(scope: Scope, found: Indicators) -> None:
    invited = (
        select(func.count(SurveyInvitation.id), func.count(SurveyInvitation.answered_at))
        .join(Account, Account.id == SurveyInvitation.account_id)
        .outerjoin(ServiceRequest, ServiceRequest.id == SurveyInvitation.request_id)
        .where(*_account_conditions(scope), _between(SurveyInvitation.created_at, scope))
    )
    if scope.department_id is not None:
        invited = invited.where(ServiceRequest.department_id == scope.department_id)
    found.invitations, found.answered = db.session.execute(invited).one()
    scores = (
        select(SurveyQuestion.kind, SurveyTemplate.kind.label("survey"), SurveyAnswer.score)
        .join(SurveyAnswer, SurveyAnswer.question_id == SurveyQuestion.id)
        .join(SurveyTemplate, SurveyTemplate.id == SurveyQuestion.template_id)
        .join(SurveyInvitation, SurveyInvitation.id == SurveyAnswer.invitation_id)
        .join(Account, Account.id == SurveyInvitation.account_id)
        .outerjoin(ServiceRequest, ServiceRequest.id == SurveyInvitation.request_id)
        .where(
            *_account_conditions(scope),
            _between(SurveyInvitation.answered_at, scope),
            SurveyAnswer.score.is_not(None),
        )
    )
    if scope.department_id is not None:
        scores = scores.where(ServiceRequest.department_id == scope.department_id)
    s = scores.subquery()
    csat = and_(s.c.kind == "rating", s.c.survey == "csat")
    nps = s.c.kind == "nps"
    mean, csat_n, promoters, detractors, nps_n = db.session.execute(
        select(
            func.avg(s.c.score).filter(csat),
            func.count().filter(csat),
            func.count().filter(and_(nps, s.c.score >= 9)),
            func.count().filter(and_(nps, s.c.score <= LOW_NPS)),
            func.count().filter(nps),
        )
    ).one()
    found.csat_mean = float(mean) if mean is not None else None
    found.csat_answers, found.nps_answers = csat_n, nps_n
    found.nps = round(100 * (promoters - detractors) / nps_n) if nps_n else None


def _quality_and_efficiency(scope: Scope, found: Indicators, medians: bool = True) -> None:
    resolved_in = _between(ServiceRequest.resolved_at, scope)
    responded_in = _between(ServiceRequest.first_responded_at, scope)
    # Two narrow aggregates, each served by the index on its period column.
    found.resolved, found.within_sla, found.reopened = db.session.execute(
        requests_in(scope)
        .where(resolved_in)
        .with_only_columns(
            func.count(),
            func.count().filter(ServiceRequest.resolved_at <= ServiceRequest.resolution_due_at),
            func.count().filter(ServiceRequest.reopen_count > 0),
        )
    ).one()
    found.first_responses, found.first_response_within_target = db.session.execute(
        requests_in(scope)
        .where(responded_in)
        .with_only_columns(
            func.count(),
            func.count().filter(ServiceRequest.first_responded_at <= ServiceRequest.first_response_due_at),
        )
    ).one()
    if medians:
        found.median_first_response_minutes = _median(
            ServiceRequest.first_response_business_minutes, scope, responded_in
        )
        found.median_resolution_minutes = _median(
            ServiceRequest.resolution_business_minutes, scope, resolved_in
        )


def _relationship(scope: Scope, found: Indicators) -> None:
    accounts = list(db.session.scalars(select(Account).where(Account.active, *_account_conditions(scope))))
    found.accounts = len(accounts)
    if not accounts:
        return
    ids = [a.id for a in accounts]
    found.contacts = (
        db.session.scalar(
            select(func.count(ContactLog.id)).where(
                ContactLog.account_id.in_(ids),
                ContactLog.contacted_on >= scope.start,
                ContactLog.contacted_on <= scope.end,
            )
        )
        or 0
    )
    months = ((scope.end - scope.start).days + 1) / 30.4375
    cadence = relationship.cadences()
    found.contacts_expected = round(sum(months / cadence[a.tier] for a in accounts), 2)
    found.accounts_overdue = sum(1 for due in relationship.due_dates(accounts) if due.due_on < scope.end)


def _value_added(scope: Scope, found: Indicators) -> None:
    first = (
        select(Deliverable.request_id, func.min(Deliverable.published_at).label("first_at"))
        .group_by(Deliverable.request_id)
        .subquery()
    )
    query = (
        requests_in(scope)
        .join(first, first.c.request_id == ServiceRequest.id)
        .where(ServiceRequest.category == "value_added", _between(first.c.first_at, scope))
        .with_only_columns(ServiceRequest.wanted_by, first.c.first_at)
        .subquery()
    )
    # On time: delivered by the end of the wanted-by day (in the company's zone, to the day).
    delivered, on_time = db.session.execute(
        select(
            func.count(),
            func.count().filter(
                or_(query.c.wanted_by.is_(None), func.date(query.c.first_at) <= query.c.wanted_by)
            ),
        )
    ).one()
    found.delivered, found.delivered_on_time = delivered, on_time


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
    found = Indicators()
    _satisfaction(scope, found)
    _quality_and_efficiency(scope, found, medians)
    _relationship(scope, found)
    _value_added(scope, found)
    _score(found, chosen or weights())
    return found


def monthly_trend(scope: Scope, months: int = 6) -> list[tuple[date, Indicators]]:
    """The scope's indicators month by month, the last month being the one the period ends in."""
    chosen = weights()
    out: list[tuple[date, Indicators]] = []
    first = date(scope.end.year, scope.end.month, 1)
    for back in range(months - 1, -1, -1):
        start = relationship.add_months(first, -back)
        end = relationship.add_months(start, 1) - timedelta(days=1)
        out.append((start, assess(replace(scope, start=start, end=end), chosen, medians=False)))
    return out


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
