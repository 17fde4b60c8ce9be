"""Dates as a person sees them: 'today' is the date in the user's own time zone, not in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.models.base import utcnow


def today_for(user: object, now: datetime | None = None) -> date:
    """The user's today (at ``now``, or this moment), in the user's own time zone."""
    return (now or utcnow()).astimezone(ZoneInfo(zone_of(user))).date()


def today_in(zone: str) -> date:
    return utcnow().astimezone(ZoneInfo(zone)).date()


def machine_time(moment: datetime) -> str:
    """A moment for HTML's ``datetime`` attribute: UTC, to the minute (``2026-03-02T01:30Z``) — what pages
    show, in the fewest bytes (a queue page has one per row)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%MZ")
    return moment.strftime("%Y-%m-%dT%H:%M")


def zone_of(user: object) -> str:
    return getattr(user, "timezone", None) or current_app.config["DEFAULT_TIMEZONE"]


def start_of_day(day: date, zone: str) -> datetime:
    """The moment a day begins in a time zone (aware)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))


def end_of_day(day: date, zone: str) -> datetime:
    """The moment after a day ends in a time zone: the start of the next day."""
    return start_of_day(day + timedelta(days=1), zone)
