"""Service-level clocks in business time.

A ``WorkCalendar`` knows which days are working days (weekdays, minus Chinese public holidays from the
``holidays`` package, plus the make-up working weekends it lists, with an admin's exceptions over both) and
the working hours of each day in the calendar's time zone. ``business_minutes_between`` and
``add_business_minutes`` do the arithmetic; the SLA functions apply it to a request: due times on submit,
the clock paused while the request waits for the customer, and the state (ok / at risk / breached).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import BusinessCalendar, ServiceRequest, SlaPolicy

AT_RISK_SHARE = 0.8
_MAX_DAYS = 3660  # a clock never looks further than ten years ahead


@lru_cache(maxsize=8)
def _public_holidays(country: str) -> holiday_calendars.HolidayBase:
    """One holiday table per country for the process; it fills in years as they are asked for."""
    return holiday_calendars.country_holidays(country)


@dataclass(frozen=True)
class WorkCalendar:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    start: time = time(9, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays
    holiday_country: str | None = "CN"
    days_off: frozenset[date] = frozenset()  # admin exceptions: free although otherwise working
    days_on: frozenset[date] = frozenset()  # admin exceptions: working although otherwise free

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_public", _public_holidays(self.holiday_country) if self.holiday_country else None
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        if day in self.days_on:
            return True
        public = self._public  # type: ignore[attr-defined]
        if public is not None:
            if day in public:  # also loads the year, and with it the make-up working weekends
                return False
            if day in getattr(public, "weekend_workdays", ()):
                return True
        return day.isoweekday() in self.weekdays

    def working_days_between(self, first: date, last: date) -> int:
        """How many working days lie in [first, last), from per-year running counts (cached)."""
        if last <= first:
            return 0
        if first.year == last.year:
            table = self._year_table(first.year)
            return table[last.timetuple().tm_yday - 1] - table[first.timetuple().tm_yday - 1]
        head_table = self._year_table(first.year)
        count = head_table[-1] - head_table[first.timetuple().tm_yday - 1]
        count += sum(self._year_table(year)[-1] for year in range(first.year + 1, last.year))
        return count + self._year_table(last.year)[last.timetuple().tm_yday - 1]

    def _year_table(self, year: int) -> list[int]:
        """table[i] = working days of ``year`` before its (i+1)-th day; the last entry is the year's total."""
        tables: dict[int, list[int]] = self.__dict__.setdefault("_year_tables", {})
        if year not in tables:
            day, running, table = date(year, 1, 1), 0, []
            while day.year == year:
                table.append(running)
                running += self.is_working_day(day)
                day += timedelta(days=1)
            table.append(running)
            tables[year] = table
        return tables[year]

    def minutes_per_day(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (UTC start, UTC end) from the day of ``moment`` on, in order."""
        day = moment.astimezone(self.zone).date()
        for offset in range(_MAX_DAYS):
            current = day + timedelta(days=offset)
            if self.is_working_day(current):
                opens = datetime.combine(current, self.start, self.zone).astimezone(UTC)
                closes = datetime.combine(current, self.end, self.zone).astimezone(UTC)
                yield opens, closes


def business_minutes_between(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """Whole business minutes in [start, end); 0 when end is not after start. Long spans (an overdue request
    of last year) cost the same as short ones: whole days in between are counted from a per-year table."""
    if end <= start:
        return 0
    first_day = start.astimezone(calendar.zone).date()
    last_day = end.astimezone(calendar.zone).date()
    if (last_day - first_day).days <= 2:
        return _windows_overlap(calendar, start, end) // timedelta(minutes=1)
    head = _windows_overlap(calendar, start, _day_start(calendar, first_day + timedelta(days=1)))
    tail = _windows_overlap(calendar, _day_start(calendar, last_day), end)
    whole_days = calendar.working_days_between(first_day + timedelta(days=1), last_day)
    return (head + tail + timedelta(minutes=calendar.minutes_per_day() * whole_days)) // timedelta(minutes=1)


def _day_start(calendar: WorkCalendar, day: date) -> datetime:
    return datetime.combine(day, time(0, 0), calendar.zone).astimezone(UTC)


def _windows_overlap(calendar: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    total = timedelta(0)
    for opens, closes in calendar.windows_from(start):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def add_business_minutes(calendar: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """The earliest moment at which ``minutes`` business minutes have passed since ``start``."""
    if minutes <= 0:
        return start
    remaining = timedelta(minutes=minutes)
    for opens, closes in calendar.windows_from(start):
        begin = max(opens, start)
        if begin >= closes:
            continue
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise ValueError("no working time within ten years; check the business calendar")


def load_calendar() -> WorkCalendar:
    """The default business calendar as the admin configured it. Equal settings give the same object, so
    its per-year working-day tables are built once per process, not once per request."""
    row = db.session.scalar(
        select(BusinessCalendar)
        .options(selectinload(BusinessCalendar.exceptions))
        .order_by(BusinessCalendar.id)
    )
    if row is None:
        return _shared_calendar(WorkCalendar())
    return _shared_calendar(
        WorkCalendar(
            zone=ZoneInfo(row.timezone),
            start=row.workday_start,
            end=row.workday_end,
            weekdays=frozenset(int(d) for d in row.working_weekdays),
            holiday_country=row.holiday_country if row.use_public_holidays else None,
            days_off=frozenset(e.day for e in row.exceptions if not e.is_working),
            days_on=frozenset(e.day for e in row.exceptions if e.is_working),
        )
    )


_calendars: dict[WorkCalendar, WorkCalendar] = {}


def _shared_calendar(calendar: WorkCalendar) -> WorkCalendar:
    if len(_calendars) > 32:  # settings changed many times: start afresh rather than grow
        _calendars.clear()
    return _calendars.setdefault(calendar, calendar)


@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    resolution_minutes: int


def targets_for(tier: str, priority: str) -> Targets:
    policy = db.session.scalar(
        select(SlaPolicy).where(SlaPolicy.tier == tier, SlaPolicy.priority == priority)
    )
    if policy is None:
        raise LookupError(f"no SLA policy for {tier}/{priority}")
    return Targets(policy.first_response_minutes, policy.resolution_minutes)


def set_due_times(request: ServiceRequest, calendar: WorkCalendar, targets: Targets) -> None:
    """Due times count from submission, plus every business minute the request spent waiting for the
    customer (``sla_paused_minutes``). Once the first response is given, its due time is history: a later
    pause moves the resolution's due time only."""
    paused = request.sla_paused_minutes
    request.first_response_target_minutes = targets.first_response_minutes
    request.resolution_target_minutes = targets.resolution_minutes
    if request.first_responded_at is None or request.first_response_due_at is None:
        request.first_response_due_at = add_business_minutes(
            calendar, request.created_at, targets.first_response_minutes + paused
        )
    request.resolution_due_at = add_business_minutes(
        calendar, request.created_at, targets.resolution_minutes + paused
    )
    request.resolution_at_risk_at = add_business_minutes(
        calendar, request.created_at, int(targets.resolution_minutes * AT_RISK_SHARE) + paused
    )


def start_clock(request: ServiceRequest, calendar: WorkCalendar) -> None:
    set_due_times(request, calendar, targets_for(request.tier, request.priority))


def pause_clock(request: ServiceRequest, now: datetime) -> None:
    if request.sla_paused_since is None:
        request.sla_paused_since = now


def resume_clock(request: ServiceRequest, calendar: WorkCalendar, now: datetime) -> None:
    if request.sla_paused_since is None:
        return
    request.sla_paused_minutes += business_minutes_between(calendar, request.sla_paused_since, now)
    request.sla_paused_since = None
    if request.resolution_target_minutes is not None and request.first_response_target_minutes is not None:
        set_due_times(
            request,
            calendar,
            Targets(request.first_response_target_minutes, request.resolution_target_minutes),
        )


@dataclass(frozen=True)
class Clock:
    """One SLA clock of a request as people see it."""

    target_minutes: int
    used_minutes: int
    met_at: datetime | None  # when the clock stopped (first response given, request resolved)
    paused: bool

    @property
    def left_minutes(self) -> int:
        return self.target_minutes - self.used_minutes

    @property
    def share_used(self) -> float:
        return self.used_minutes / self.target_minutes if self.target_minutes else 1.0

    @property
    def state(self) -> str:
        if self.used_minutes >= self.target_minutes:
            return "breached"
        if self.share_used >= AT_RISK_SHARE:
            return "at_risk"
        return "ok"


def _clock(
    request: ServiceRequest,
    calendar: WorkCalendar,
    target: int | None,
    stopped: datetime | None,
    now: datetime,
) -> Clock | None:
    if target is None:
        return None
    until = stopped or (request.sla_paused_since if request.sla_paused_since else now)
    used = business_minutes_between(calendar, request.created_at, until) - request.sla_paused_minutes
    return Clock(target, max(used, 0), stopped, stopped is None and request.sla_paused_since is not None)


def first_response_clock(request: ServiceRequest, calendar: WorkCalendar, now: datetime) -> Clock | None:
    target, responded, due = (
        request.first_response_target_minutes,
        request.first_responded_at,
        request.first_response_due_at,
    )
    if target is not None and responded is not None and due is not None:
        # Met: measured against its due time, which later pauses no longer move.
        if responded <= due:
            used = target - business_minutes_between(calendar, responded, due)
        else:
            used = target + business_minutes_between(calendar, due, responded)
        return Clock(target, max(used, 0), responded, False)
    return _clock(request, calendar, target, responded, now)


def resolution_clock(request: ServiceRequest, calendar: WorkCalendar, now: datetime) -> Clock | None:
    stopped = request.resolved_at or request.cancelled_at
    return _clock(request, calendar, request.resolution_target_minutes, stopped, now)
