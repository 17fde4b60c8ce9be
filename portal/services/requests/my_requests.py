"""The customer's request list: what they may see, filtered and searched, newest first, keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import ServiceRequest, User
from portal.models.requests import IS_OPEN
from portal.permissions import visible_requests
from portal.services.requests.queues import decode_cursor, encode_cursor, keyset_after, sort_keys

PAGE_SIZE = 20


@dataclass
class RequestFilters:
    status: str | None = None
    category: str | None = None
    contract_id: int | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    search: str | None = None


@dataclass
class RequestPage:
    requests: list[ServiceRequest]
    next_cursor: str | None


def request_page(
    user: User,
    filters: RequestFilters,
    *,
    cursor: str | None = None,
    zone: str = "Asia/Shanghai",
    limit: int = PAGE_SIZE,
) -> RequestPage:
    query = visible_requests(user)
    if filters.status == "open":
        query = query.where(IS_OPEN)
    elif filters.status:
        query = query.where(ServiceRequest.status == filters.status)
    if filters.category:
        query = query.where(ServiceRequest.category == filters.category)
    if filters.contract_id:
        query = query.where(ServiceRequest.contract_id == filters.contract_id)
    tz = ZoneInfo(zone)
    if filters.submitted_from:
        query = query.where(ServiceRequest.created_at >= _start_of(filters.submitted_from, tz))
    if filters.submitted_to:
        query = query.where(
            ServiceRequest.created_at < _start_of(filters.submitted_to + timedelta(days=1), tz)
        )
    if filters.search:
        term = filters.search.strip()
        # Literal: % _ and \\ in the search match themselves (autoescape).
        query = query.where(
            or_(
                ServiceRequest.reference == term.upper(),
                ServiceRequest.title.icontains(term, autoescape=True),
            )
        )
    keys = sort_keys("newest")
    after = decode_cursor(cursor, "newest")
    if after is not None:
        query = query.where(keyset_after(keys, after))
    rows = list(
        db.session.scalars(
            query.order_by(*(e.asc() if asc else e.desc() for e, asc in keys))
            .limit(limit + 1)
            .options(selectinload(ServiceRequest.contract))
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].created_at, rows[-1].id]) if more and rows else None
    return RequestPage(rows, next_cursor)


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), zone)
