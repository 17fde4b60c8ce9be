"""Writing the audit log. ``record`` joins the caller's transaction, so an action and its record land
together; ``log`` is the use case for an event that is all there is to write (a download, an export).

``note_refusal`` is for security events — a refused access, a refused upload — that must be kept although
the work they interrupted is undone: it is written in a transaction of its own when the request ends,
with the person, their account, the address and the route (``portal/errors.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.services.unit_of_work import use_case


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_email: str = "",
    obj: object | None = None,
    ip_address: str = "",
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else actor_email,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "")) if obj is not None else "",
        ip_address=ip_address[:64],
        detail=detail,
    )
    db.session.add(event)
    return event


@use_case
def log(action: str, **kwargs: Any) -> AuditEvent:
    return record(action, **kwargs)


def note_refusal(action: str, **detail: Any) -> None:
    """Keep a security event for the end of the request (outside a request there is nobody to refuse)."""
    if has_request_context():
        g.setdefault("security_events", []).append((action, detail))


def take_refusals() -> list[tuple[str, dict[str, Any]]]:
    return g.pop("security_events", []) if has_request_context() else []


# --- reading the log -------------------------------------------------------------------------------------

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    person: str | None = None  # part of a name or an email address
    action: str | None = None  # one action, or a family ending in "." ("security.")
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None  # aware; from this moment
    until: datetime | None = None  # aware; before this moment


def _query(filters: AuditFilters) -> Select[AuditEvent]:
    query = select(AuditEvent).options(selectinload(AuditEvent.actor))
    if filters.person:
        people = select(User.id).where(
            or_(
                User.full_name.icontains(filters.person, autoescape=True),
                User.email.icontains(filters.person, autoescape=True),
            )
        )
        query = query.where(
            or_(
                AuditEvent.actor_id.in_(people),
                AuditEvent.actor_email.icontains(filters.person, autoescape=True),
            )
        )
    if filters.action:
        if filters.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.since:
        query = query.where(AuditEvent.created_at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.created_at < filters.until)
    return query


def search(filters: AuditFilters, before_id: int | None = None, limit: int = PAGE_SIZE) -> list[AuditEvent]:
    """The newest events matching ``filters``, older than ``before_id`` (a page's last id), one more than
    ``limit`` when there is a next page."""
    query = _query(filters)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))


def every(filters: AuditFilters, chunk: int = 1000) -> Iterator[AuditEvent]:
    """All matching events, newest first, read a chunk at a time (for the CSV export)."""
    before: int | None = None
    while True:
        rows = search(filters, before, chunk)[:chunk]
        yield from rows
        if len(rows) < chunk:
            return
        before = rows[-1].id
