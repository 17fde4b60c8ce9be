"""Dates as a person sees them: 'today' is the date in the user's own time zone, not in UTC."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app

from portal.models.base import utcnow


def today_for(user: object) -> date:
    zone = getattr(user, "timezone", None) or current_app.config["DEFAULT_TIMEZONE"]
    return utcnow().astimezone(ZoneInfo(zone)).date()


def today_in(zone: str) -> date:
    return utcnow().astimezone(ZoneInfo(zone)).date()
