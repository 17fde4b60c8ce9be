"""Administering the SLA: targets per tier × priority and the business calendar. Every change is audited."""

from __future__ import annotations

from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import BusinessCalendar, CalendarException, SlaPolicy, User
from portal.models.accounts import TIERS
from portal.models.requests import PRIORITIES
from portal.services import audit
from portal.services.errors import InvalidInput, Problems
from portal.services.unit_of_work import use_case


def policy_table() -> dict[tuple[str, str], SlaPolicy]:
    return {(p.tier, p.priority): p for p in db.session.scalars(select(SlaPolicy))}


def check_sla_targets(targets: dict[tuple[str, str], tuple[int, int]], problems: Problems) -> None:
    """Every bad row, named ``tier_priority``, so that all of them are flagged at once."""
    for (tier, priority), (first, resolution) in targets.items():
        if tier not in TIERS or priority not in PRIORITIES:
            problems.add(f"{tier}_{priority}", _l("Unknown tier or priority."))
        elif first <= 0 or resolution < first:
            problems.add(
                f"{tier}_{priority}",
                _l("The first response must be positive and no later than the resolution."),
            )


@use_case
def update_sla_targets(targets: dict[tuple[str, str], tuple[int, int]], actor: User) -> None:
    """Set (first response, resolution) minutes per tier × priority; all or nothing."""
    problems = Problems()
    check_sla_targets(targets, problems)
    problems.raise_any()
    table = policy_table()
    changed = {}
    for key, (first, resolution) in targets.items():
        policy = table.get(key) or SlaPolicy(tier=key[0], priority=key[1])
        if (policy.first_response_minutes, policy.resolution_minutes) != (first, resolution):
            changed[f"{key[0]}/{key[1]}"] = [
                policy.first_response_minutes,
                policy.resolution_minutes,
                first,
                resolution,
            ]
            policy.first_response_minutes, policy.resolution_minutes = first, resolution
            db.session.add(policy)
    if changed:
        audit.record("sla_policy.updated", actor=actor, changes=changed)


def default_calendar() -> BusinessCalendar:
    calendar = db.session.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id))
    if calendar is None:
        raise LookupError("no business calendar; run `flask --app portal init-data`")
    return calendar


@use_case
def update_calendar(
    calendar: BusinessCalendar,
    *,
    start: time,
    end: time,
    weekdays: str,
    use_public_holidays: bool,
    actor: User,
) -> None:
    if end <= start:
        raise InvalidInput("workday_end", str(_l("The working day must end after it starts.")))
    if not weekdays or any(d not in "1234567" for d in weekdays):
        raise InvalidInput("weekdays", str(_l("Choose at least one working weekday.")))
    calendar.workday_start, calendar.workday_end = start, end
    calendar.working_weekdays = "".join(sorted(set(weekdays)))
    calendar.use_public_holidays = use_public_holidays
    audit.record(
        "calendar.updated",
        actor=actor,
        obj=calendar,
        start=start.isoformat(),
        end=end.isoformat(),
        weekdays=calendar.working_weekdays,
        public_holidays=use_public_holidays,
    )


@use_case
def set_exception(calendar: BusinessCalendar, day: date, is_working: bool, note: str, actor: User) -> None:
    existing = db.session.scalar(
        select(CalendarException).where(
            CalendarException.calendar_id == calendar.id, CalendarException.day == day
        )
    )
    if existing is None:
        existing = CalendarException(calendar_id=calendar.id, day=day)
        db.session.add(existing)
    existing.is_working, existing.note = is_working, note.strip()[:200]
    audit.record("calendar.exception_set", actor=actor, obj=calendar, day=day.isoformat(), working=is_working)


@use_case
def remove_exception(calendar: BusinessCalendar, exception_id: int, actor: User) -> None:
    existing = db.session.get(CalendarException, exception_id)
    if existing is None or existing.calendar_id != calendar.id:
        raise InvalidInput("exception", str(_l("That day is not in the calendar.")))
    audit.record("calendar.exception_removed", actor=actor, obj=calendar, day=existing.day.isoformat())
    db.session.delete(existing)
