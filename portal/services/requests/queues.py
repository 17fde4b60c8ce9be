"""Staff work queues: which requests, filtered, searched, sorted, one keyset page at a time.

Keyset pagination: a page ends with a cursor made of the last row's sort key; the next page starts after it
(an indexed range scan, however deep), so page 40 costs what page 1 costs. Aggregates stay in SQL and the
number of queries per page does not depend on the number of rows shown.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union
from sqlalchemy.orm import joinedload, selectinload

from portal import permissions
from portal.database import INT_MAX
from portal.extensions import db
from portal.models import Account, ServiceRequest, User
from portal.models.requests import IS_OPEN
from portal.services.requests import sla

QUEUES = ("unassigned", "mine", "at_risk", "waiting", "all_open")
EVERYONES_ORDER = ("unassigned", "all_open")  # queues a manager reads in order from the open index
SORTS = ("oldest", "newest", "due", "priority")
PAGE_SIZE = 25
SortKey = tuple[Any, bool]  # (a column or SQL expression, ascending)
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass
class QueueFilters:
    category: str | None = None
    subtype: str | None = None
    tier: str | None = None
    industry: str | None = None
    priority: str | None = None
    status: str | None = None
    account_name: str | None = None  # part of the account's name in either language
    assignee_id: int | None = None
    search: str | None = None
    sort: str = "oldest"

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "") and k != "sort"}


@dataclass
class QueueRow:
    request: ServiceRequest
    sla_state: str  # ok, at_risk, breached, paused, met, none
    business_minutes_left: int | None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def _priority_rank() -> ColumnElement[int]:
    return case(
        (ServiceRequest.priority == "urgent", 0),
        (ServiceRequest.priority == "high", 1),
        (ServiceRequest.priority == "normal", 2),
        else_=3,
    )


def sort_keys(sort: str) -> list[SortKey]:
    """(expression, ascending) pairs; the id breaks ties so every row has a unique position."""
    due = func.coalesce(ServiceRequest.resolution_due_at, _FAR_FUTURE)
    orders: dict[str, list[SortKey]] = {
        "oldest": [(ServiceRequest.created_at, True), (ServiceRequest.id, True)],
        "newest": [(ServiceRequest.created_at, False), (ServiceRequest.id, False)],
        "due": [(due, True), (ServiceRequest.id, True)],
        "priority": [(_priority_rank(), True), (ServiceRequest.created_at, True), (ServiceRequest.id, True)],
    }
    return orders[sort if sort in SORTS else "oldest"]


def _sort_values(request: ServiceRequest, sort: str) -> list[Any]:
    rank = {"urgent": 0, "high": 1, "normal": 2}.get(request.priority, 3)
    return {
        "oldest": [request.created_at, request.id],
        "newest": [request.created_at, request.id],
        "due": [request.resolution_due_at or _FAR_FUTURE, request.id],
        "priority": [rank, request.created_at, request.id],
    }[sort if sort in SORTS else "oldest"]


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> list[Any] | None:
    """The sort key after which a page starts, or None for the first page (also for a damaged cursor)."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        keys = sort_keys(sort)
        if not isinstance(raw, list) or len(raw) != len(keys):
            return None
        values: list[Any] = []
        for value in raw:
            if isinstance(value, str):
                values.append(datetime.fromisoformat(value))
            elif isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT_MAX:
                values.append(value)
            else:
                return None
        return values
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def keyset_after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys`` (mixed directions allowed)."""
    clauses = []
    for i, (expression, ascending) in enumerate(keys):
        equal_before = [keys[j][0] == values[j] for j in range(i)]
        beyond = expression > values[i] if ascending else expression < values[i]
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


AT_RISK_STATUSES = ("submitted", "open", "in_progress", "scheduled")


def _queue_terms(queue: str, user: User, now: datetime) -> list[ColumnElement[bool]]:
    open_ = IS_OPEN
    if queue == "unassigned":
        return [open_, ServiceRequest.assignee_id.is_(None)]
    if queue == "mine":
        return [open_, ServiceRequest.assignee_id == user.id]
    if queue == "at_risk":
        return [
            ServiceRequest.status.in_(AT_RISK_STATUSES),
            or_(
                ServiceRequest.resolution_at_risk_at <= now,
                and_(
                    ServiceRequest.first_responded_at.is_(None), ServiceRequest.first_response_due_at <= now
                ),
            ),
        ]
    if queue == "waiting":
        return [ServiceRequest.status == "waiting_customer"]
    return [open_]


def queue_condition(queue: str, user: User, now: datetime) -> ColumnElement[bool]:
    return and_(*_queue_terms(queue, user, now))


def _names_contain(term: str) -> ColumnElement[bool]:
    return or_(
        Account.name.icontains(term, autoescape=True), Account.name_en.icontains(term, autoescape=True)
    )


def _filter_conditions(filters: QueueFilters) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """Conditions on the request, and conditions on its account (applied as an account-id subquery)."""
    conditions: list[ColumnElement[bool]] = []
    on_account: list[ColumnElement[bool]] = []
    for name in ("category", "subtype", "priority", "status"):
        value = getattr(filters, name)
        if value:
            conditions.append(getattr(ServiceRequest, name) == value)
    if filters.assignee_id:
        conditions.append(ServiceRequest.assignee_id == filters.assignee_id)
    if filters.account_name:
        on_account.append(_names_contain(filters.account_name.strip()))
    if filters.tier:
        on_account.append(Account.tier == filters.tier)
    if filters.industry:
        on_account.append(Account.industry == filters.industry)
    if filters.search:
        term = filters.search.strip()
        matching_accounts = select(Account.id).where(_names_contain(term))
        conditions.append(
            or_(
                ServiceRequest.reference == term.upper(),
                ServiceRequest.title.icontains(term, autoescape=True),  # % _ \\ literal
                ServiceRequest.account_id.in_(matching_accounts),
            )
        )
    return conditions, on_account


def queue_page(
    user: User,
    queue: str,
    filters: QueueFilters,
    *,
    cursor: str | None = None,
    now: datetime,
    calendar: sla.WorkCalendar | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    queue = queue if queue in QUEUES else "all_open"
    keys = sort_keys(filters.sort)
    conditions, account_conditions = _filter_conditions(filters)
    wanted = [permissions.queue_condition(user, queue), queue_condition(queue, user, now), *conditions]
    if account_conditions:
        wanted.append(ServiceRequest.account_id.in_(select(Account.id).where(*account_conditions)))
    query = select(ServiceRequest).where(*wanted)
    if (
        user.role in permissions.READ_ALL_ROLES
        and queue in EVERYONES_ORDER
        and filters.sort in ("oldest", "newest")
    ):
        # Everyone's open requests in order of submission: read from the index that holds them in that order
        # (SQLite without statistics would rather collect every open request by status and sort them).
        query = query.with_hint(ServiceRequest, "INDEXED BY ix_service_requests_open_created", "sqlite")
    after = decode_cursor(cursor, filters.sort)
    if after is not None:
        query = query.where(keyset_after(keys, after))
    query = query.order_by(*(e.asc() if asc else e.desc() for e, asc in keys)).limit(limit + 1)
    query = query.options(
        selectinload(ServiceRequest.account),
        joinedload(ServiceRequest.prospect),
        selectinload(ServiceRequest.assignee),
        selectinload(ServiceRequest.department),
    )
    requests = list(db.session.scalars(query))
    more = len(requests) > limit
    requests = requests[:limit]
    calendar = calendar or sla.load_calendar()
    rows = [QueueRow(r, *sla_badge(r, calendar, now)) for r in requests]
    next_cursor = encode_cursor(_sort_values(requests[-1], filters.sort)) if more and requests else None
    return QueuePage(rows=rows, next_cursor=next_cursor)


COUNT_CAP = 999


def queue_counts(user: User, now: datetime, cap: int = COUNT_CAP) -> dict[str, int]:
    """How many requests each queue holds for this person, each counted up to ``cap + 1`` ("999+"), in one
    statement. Counting stops at the cap, and every count reads one index range (department or assignee,
    then status, then the column the queue asks about), so the tabs cost the same at a million requests as at
    a thousand; an exact count of every open request was the queue page's slowest statement (145 ms at 1M)."""

    def capped(*conditions: ColumnElement[bool], sqlite_index: str | None = None) -> Any:
        rows = select(ServiceRequest.id).where(*conditions).limit(cap + 1)
        if sqlite_index:
            # SQLite plans without statistics and, between indexes that look as good, takes one by the order
            # they were made in: the unassigned count then read every open request for the few unassigned
            # ones (380 ms at 1M) instead of its partial index. Named, it cannot go astray.
            rows = rows.with_hint(ServiceRequest, f"INDEXED BY {sqlite_index}", dialect_name="sqlite")
        return select(func.count()).select_from(rows.subquery()).scalar_subquery()

    def in_scope(queue: str) -> ColumnElement[bool]:
        return permissions.queue_condition(user, queue)

    at_risk_open = ServiceRequest.status.in_(AT_RISK_STATUSES)
    # At risk is two index ranges (resolution at risk, first answer overdue), counted together without twins.
    overdue_resolution = (
        select(ServiceRequest.id)
        .where(in_scope("at_risk"), at_risk_open, ServiceRequest.resolution_at_risk_at <= now)
        .limit(cap + 1)
        .subquery()
    )
    overdue_answer = (
        select(ServiceRequest.id)
        .where(
            in_scope("at_risk"),
            at_risk_open,
            ServiceRequest.first_responded_at.is_(None),
            ServiceRequest.first_response_due_at <= now,
        )
        .limit(cap + 1)
        .subquery()
    )
    at_risk = union(select(overdue_resolution.c.id), select(overdue_answer.c.id)).subquery()
    row = db.session.execute(
        select(
            capped(
                in_scope("unassigned"),
                *_queue_terms("unassigned", user, now),
                sqlite_index="ix_service_requests_unassigned",
            ).label("unassigned"),
            capped(in_scope("mine"), *_queue_terms("mine", user, now)).label("mine"),
            select(func.count()).select_from(at_risk).scalar_subquery().label("at_risk"),
            capped(in_scope("waiting"), *_queue_terms("waiting", user, now)).label("waiting"),
            capped(in_scope("all_open"), *_queue_terms("all_open", user, now)).label("all_open"),
        )
    ).one()
    return {queue: min(int(getattr(row, queue) or 0), cap + 1) for queue in QUEUES}


def sla_badge(request: ServiceRequest, calendar: sla.WorkCalendar, now: datetime) -> tuple[str, int | None]:
    """The badge a queue row shows for the resolution clock, and the business minutes left."""
    if request.resolution_due_at is None:
        return "none", None
    if request.status in ("resolved", "closed", "cancelled"):
        return "met", None
    if request.sla_paused_since is not None:
        return "paused", None
    if now >= request.resolution_due_at:
        return "breached", -sla.business_minutes_between(calendar, request.resolution_due_at, now)
    left = sla.business_minutes_between(calendar, now, request.resolution_due_at)
    if request.resolution_at_risk_at is not None and now >= request.resolution_at_risk_at:
        return "at_risk", left
    return "ok", left
