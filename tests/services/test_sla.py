"""Business-time arithmetic, checked by hand across nights, weekends, Chinese public holidays and make-up
working days, and by hypothesis for its algebra."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.requests.sla import WorkCalendar, add_business_minutes, business_minutes_between

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    "start, minutes, expected",
    [
        (local(2026, 11, 25, 10, 0), 60, local(2026, 11, 25, 11, 0)),  # inside one day
        (local(2026, 11, 25, 17, 30), 60, local(2026, 11, 26, 9, 30)),  # across a night
        (local(2026, 11, 25, 7, 0), 60, local(2026, 11, 25, 10, 0)),  # before opening
        (local(2026, 11, 27, 17, 0), 120, local(2026, 11, 30, 10, 0)),  # Friday to Monday
        (local(2026, 11, 28, 12, 0), 30, local(2026, 11, 30, 9, 30)),  # from a Saturday
        (local(2026, 9, 30, 17, 30), 60, local(2026, 10, 8, 9, 30)),  # over the National Day week
        (local(2026, 10, 9, 17, 0), 120, local(2026, 10, 10, 10, 0)),  # Saturday 10 Oct is a make-up workday
        (local(2026, 2, 13, 17, 0), 120, local(2026, 2, 14, 10, 0)),  # so is Saturday 14 Feb ...
        (
            local(2026, 2, 14, 17, 0),
            120,
            local(2026, 2, 24, 10, 0),
        ),  # ... then Spring Festival until the 24th
        (local(2026, 11, 25, 10, 0), 540 * 2, local(2026, 11, 27, 10, 0)),  # two whole days
    ],
)
def test_add_business_minutes_by_hand(start, minutes, expected):
    assert add_business_minutes(CAL, start, minutes) == expected
    assert business_minutes_between(CAL, start, expected) == minutes


def test_between_counts_only_working_hours():
    assert business_minutes_between(CAL, local(2026, 11, 27, 17, 0), local(2026, 11, 30, 10, 0)) == 120
    assert business_minutes_between(CAL, local(2026, 10, 1, 9, 0), local(2026, 10, 7, 18, 0)) == 0
    assert business_minutes_between(CAL, local(2026, 11, 30, 10, 0), local(2026, 11, 27, 17, 0)) == 0


def test_admin_exceptions_override_weekdays_and_holidays():
    calendar = WorkCalendar(days_off=frozenset({date(2026, 11, 30)}), days_on=frozenset({date(2026, 10, 1)}))
    assert add_business_minutes(calendar, local(2026, 11, 27, 17, 0), 120) == local(2026, 12, 1, 10, 0)
    assert add_business_minutes(calendar, local(2026, 9, 30, 17, 30), 60) == local(2026, 10, 1, 9, 30)


def test_a_calendar_without_public_holidays():
    plain = WorkCalendar(holiday_country=None)
    assert add_business_minutes(plain, local(2026, 9, 30, 17, 30), 60) == local(2026, 10, 1, 9, 30)


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)  # whole minutes: the sum of floors is exact
)
amounts = st.integers(min_value=0, max_value=60 * 9 * 30)


@settings(max_examples=150, deadline=None)
@given(start=moments, a=amounts, b=amounts)
def test_business_time_is_monotonic_and_additive(start, a, b):
    after_a = add_business_minutes(CAL, start, a)
    after_ab = add_business_minutes(CAL, start, a + b)
    assert after_a <= after_ab
    if a > 0:
        # Landing exactly on a closing time or on the next opening is the same business instant.
        assert business_minutes_between(CAL, start, add_business_minutes(CAL, after_a, b)) == a + b
    assert business_minutes_between(CAL, start, after_ab) == a + b


@settings(max_examples=150, deadline=None)
@given(start=moments, span=st.integers(min_value=0, max_value=60 * 24 * 40), split=st.floats(0, 1))
def test_business_minutes_between_adds_up_over_a_split(start, span, split):
    end = start + timedelta(minutes=span)
    middle = start + timedelta(minutes=int(span * split))
    whole = business_minutes_between(CAL, start, end)
    parts = business_minutes_between(CAL, start, middle) + business_minutes_between(CAL, middle, end)
    assert whole == parts
    assert 0 <= whole <= span


def _slow_minutes(calendar, start, end):
    """The obvious definition, window by window: the fast path must agree with it."""
    total = timedelta(0)
    for opens, closes in calendar.windows_from(start):
        if opens >= end:
            break
        if min(closes, end) > max(opens, start):
            total += min(closes, end) - max(opens, start)
    return total // timedelta(minutes=1)


@settings(max_examples=200, deadline=None)
@given(start=moments, span=st.integers(min_value=0, max_value=60 * 24 * 800))
def test_long_spans_agree_with_the_window_by_window_count(start, span):
    end = start + timedelta(minutes=span)
    assert business_minutes_between(CAL, start, end) == _slow_minutes(CAL, start, end)


def test_working_days_between_counts_across_years():
    days = CAL.working_days_between(date(2026, 1, 1), date(2027, 1, 1))
    assert days == sum(CAL.is_working_day(date(2026, 1, 1) + timedelta(d)) for d in range(365))
    assert CAL.working_days_between(date(2025, 12, 30), date(2026, 1, 6)) == sum(
        CAL.is_working_day(date(2025, 12, 30) + timedelta(d)) for d in range(7)
    )
