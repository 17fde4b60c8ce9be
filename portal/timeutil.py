"""Dates as a person sees them: 'today' is the date in the user's own time zone, not in UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.models.base import utcnow


def today_for(user: object, now: datetime | None = None) -> date:
    """The user's today (at ``now``, or this moment), in the user's own time zone."""
    return (now or utcnow()).astimezone(ZoneInfo(zone_of(user))).date()


def today_in(zone: str) -> date:
    return utcnow().astimezone(ZoneInfo(zone)).date()


def zone_of(user: object) -> str:
    return getattr(user, "timezone", None) or current_app.config["DEFAULT_TIMEZONE"]


def start_of_day(day: date, zone: str) -> datetime:
    """The moment a day begins in a time zone (aware)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))


def end_of_day(day: date, zone: str) -> datetime:
    """The moment after a day ends in a time zone: the start of the next day."""
    return start_of_day(day + timedelta(days=1), zone)
