"""Working a request: submit, status changes, replies and notes, routing, assignment, visits and time.

Every function that changes a request takes the version the person saw; if someone else changed the
request since, ``StaleRequest`` is raised and nothing is written. Each function owns its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.models import Account, Contract, Department, ServiceRequest, TimeEntry, TimelineEvent, User
from portal.models.accounts import STAFF_ROLES, department_memberships
from portal.models.base import utcnow
from portal.models.requests import OPEN_STATUSES, SUBTYPES
from portal.services import audit, lifecycle, sla
from portal.services.errors import DomainError, InvalidInput, NotAllowed
from portal.services.references import next_reference
from portal.services.routing import route_request

F = TypeVar("F", bound=Callable[..., Any])


class StaleRequest(DomainError):
    """Someone changed the request after this person loaded it."""

    def __init__(self) -> None:
        super().__init__(str(_l("This request changed since you opened it. Here is its current state.")))


def _event(
    request: ServiceRequest,
    kind: str,
    actor: User | None,
    now: datetime,
    body: str = "",
    internal: bool = False,
    **data: Any,
) -> TimelineEvent:
    event = TimelineEvent(
        request_id=request.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        internal=internal,
        body=body,
        data=data,
        created_at=now,
    )
    db.session.add(event)
    return event


def _check_version(request: ServiceRequest, seen_version: int | None) -> None:
    if seen_version is not None and seen_version != request.version:
        raise StaleRequest()


def _commit() -> None:
    db.session.commit()


def guards_against_stale_writes(function: F) -> F:
    """Another transaction may commit between our read and our write; the version column then makes the
    UPDATE match nothing — at commit or at any autoflush before it. Either way the person is told, and
    nothing is written."""

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except StaleDataError as error:
            db.session.rollback()
            raise StaleRequest() from error

    return guarded  # type: ignore[return-value]


def department_ids(user: User) -> set[int]:
    return set(
        db.session.scalars(
            select(department_memberships.c.department_id).where(department_memberships.c.user_id == user.id)
        )
    )


def can_view(user: User, request: ServiceRequest) -> bool:
    if user.role in ("manager", "admin"):
        return True
    if user.role not in STAFF_ROLES:
        return False
    return request.department_id in department_ids(user) or request.assignee_id == user.id


def can_work(user: User, request: ServiceRequest) -> bool:
    return user.role in STAFF_ROLES and can_view(user, request)


def is_lead_of(user: User, department_id: int | None) -> bool:
    return user.role == "lead" and department_id in department_ids(user)


def _require_work(user: User, request: ServiceRequest) -> None:
    if not can_work(user, request):
        raise NotAllowed(str(_l("Only staff of the request's department can work on it.")))


# --- submitting -------------------------------------------------------------------------------------------


@dataclass
class NewRequest:
    category: str
    subtype: str
    title: str
    description: str = ""
    priority: str = "normal"
    contract: Contract | None = None
    shared_with_account: bool = True
    details: dict[str, Any] | None = None  # category-specific columns, e.g. {"site_address": ...}


def submit_request(
    account: Account, requester: User, new: NewRequest, *, now: datetime | None = None, commit: bool = True
) -> ServiceRequest:
    """Create the request, give it a reference, route it, start its SLA clock and acknowledge it."""
    now = now or utcnow()
    if new.subtype not in SUBTYPES.get(new.category, ()):
        raise InvalidInput("subtype", str(_l("Choose a service of this category.")))
    if new.contract is not None and new.contract.account_id != account.id:
        raise InvalidInput("contract", str(_l("Choose one of your account's contracts.")))
    request = ServiceRequest(
        reference=next_reference(now.year),
        account=account,
        requester=requester,
        contract=new.contract,
        category=new.category,
        subtype=new.subtype,
        title=new.title,
        description=new.description,
        priority=new.priority,
        status="submitted",
        shared_with_account=new.shared_with_account,
        created_at=now,
        updated_at=now,
        **(new.details or {}),
    )
    db.session.add(request)
    rule = route_request(request)
    sla.start_clock(request, sla.load_calendar())
    db.session.flush()
    _event(request, "created", requester, now)
    department = db.session.get(Department, request.department_id)
    _event(request, "routed", None, now, department=department.code if department else None, rule_id=rule.id)
    if request.assignee_id is None and department is not None and department.auto_assign:
        request.assignee_id = least_loaded_member(department)
    if request.assignee_id is not None:
        _event(request, "assigned", None, now, assignee_id=request.assignee_id)
    if commit:
        db.session.commit()
    return request


# --- status -------------------------------------------------------------------------------------------------


@guards_against_stale_writes
def change_status(
    request: ServiceRequest,
    action: str,
    actor: User | None,
    *,
    seen_version: int | None,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    _check_version(request, seen_version)
    if actor is not None and actor.role in STAFF_ROLES:
        _require_work(actor, request)
    if actor is not None and actor.role not in STAFF_ROLES and actor.account_id != request.account_id:
        raise NotAllowed(str(_l("Only staff of the request's department can work on it.")))
    if action in lifecycle.FORM_ONLY_ACTIONS:
        raise lifecycle.TransitionRefused(str(_l("Use the form for this action.")))
    now = now or utcnow()
    event = lifecycle.apply(request, action, actor, now, sla.load_calendar(), note)
    if event.data.get("to") == "resolved":
        from portal.services import surveys

        surveys.invite_after_resolution(request, now)
    _commit()
    return request


# --- conversation -------------------------------------------------------------------------------------------


@guards_against_stale_writes
def add_reply(
    request: ServiceRequest,
    author: User,
    body: str,
    *,
    internal: bool = False,
    seen_version: int | None,
    now: datetime | None = None,
) -> TimelineEvent:
    """A public reply (staff or customer) or an internal note (staff only). The first public staff reply
    is the first response; a customer's reply to a request waiting for them puts it back in progress."""
    now = now or utcnow()
    body = body.strip()
    if not body:
        raise InvalidInput("body", str(_l("Write a message first.")))
    _check_version(request, seen_version)
    is_staff = author.role in STAFF_ROLES
    if is_staff:
        _require_work(author, request)
    elif internal or author.account_id != request.account_id:
        raise NotAllowed(str(_l("Only staff can write internal notes.")))
    event = _event(
        request, "internal_note" if internal else "public_reply", author, now, body, internal=internal
    )
    if is_staff and not internal and request.first_responded_at is None:
        request.first_responded_at = now
        request.first_response_business_minutes = sla.business_minutes_between(
            sla.load_calendar(), request.created_at, now
        )
    if not is_staff and request.status == "waiting_customer":
        lifecycle.apply(request, "customer_replied", author, now, sla.load_calendar())
    request.updated_at = now
    _commit()
    return event


# --- routing and assignment --------------------------------------------------------------------------------


@guards_against_stale_writes
def reroute(
    request: ServiceRequest,
    department: Department,
    actor: User,
    reason: str,
    *,
    seen_version: int | None,
    now: datetime | None = None,
) -> ServiceRequest:
    now = now or utcnow()
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", str(_l("Say why the request goes to another department.")))
    _check_version(request, seen_version)
    _require_work(actor, request)
    if department.id == request.department_id:
        raise InvalidInput("department", str(_l("The request is already with this department.")))
    previous = request.department.code if request.department else None
    request.department_id = department.id
    request.assignee_id = None
    request.updated_at = now
    _event(request, "routed", actor, now, reason, department=department.code, previous=previous, rule_id=None)
    _commit()
    return request


def _members_who_work(department_id: int) -> Select[int]:
    return (
        select(User.id)
        .join(department_memberships, department_memberships.c.user_id == User.id)
        .where(
            department_memberships.c.department_id == department_id, User.active, User.role.in_(STAFF_ROLES)
        )
    )


def least_loaded_member(department: Department) -> int | None:
    """The active agent or lead of the department with the fewest open requests (ties: lowest id)."""
    load = (
        select(ServiceRequest.assignee_id, func.count().label("n"))
        .where(ServiceRequest.status.in_(OPEN_STATUSES))
        .group_by(ServiceRequest.assignee_id)
        .subquery()
    )
    return db.session.scalar(
        select(User.id)
        .where(User.id.in_(_members_who_work(department.id)))
        .outerjoin(load, load.c.assignee_id == User.id)
        .order_by(func.coalesce(load.c.n, 0), User.id)
        .limit(1)
    )


@guards_against_stale_writes
def assign(
    request: ServiceRequest,
    assignee: User | None,
    actor: User,
    *,
    seen_version: int | None,
    now: datetime | None = None,
) -> ServiceRequest:
    """Claim (assignee is the actor), assign (leads), or unassign (None: leads, or the assignee)."""
    now = now or utcnow()
    _check_version(request, seen_version)
    _require_work(actor, request)
    lead = is_lead_of(actor, request.department_id)
    if assignee is None:
        if not (lead or request.assignee_id == actor.id):
            raise NotAllowed(str(_l("Only the department lead or the assignee can unassign.")))
    elif assignee.id == actor.id:
        if request.assignee_id not in (None, actor.id) and not lead:
            raise NotAllowed(str(_l("Someone already works on this request.")))
    else:
        if not lead:
            raise NotAllowed(str(_l("Only the department lead can assign requests to others.")))
        if (
            request.department_id not in department_ids(assignee)
            or assignee.role not in STAFF_ROLES
            or not assignee.active
        ):
            raise InvalidInput("assignee", str(_l("Choose an active member of the request's department.")))
    request.assignee_id = assignee.id if assignee else None
    request.updated_at = now
    _event(
        request,
        "assigned",
        actor,
        now,
        assignee_id=request.assignee_id,
        assignee=assignee.full_name if assignee else None,
    )
    if request.status == "submitted" and assignee is not None:
        lifecycle.apply(request, "open", actor, now, sla.load_calendar())
    _commit()
    return request


# --- on-site visits and time ------------------------------------------------------------------------------


@guards_against_stale_writes
def schedule_visit(
    request: ServiceRequest,
    actor: User,
    *,
    visit_at: datetime,
    engineer: User,
    duration_minutes: int,
    seen_version: int | None,
    now: datetime | None = None,
) -> ServiceRequest:
    now = now or utcnow()
    _check_version(request, seen_version)
    _require_work(actor, request)
    if request.category != "on_site":
        raise InvalidInput("visit_at", str(_l("Only on-site requests have visits.")))
    if request.approval == "pending":
        raise NotAllowed(
            str(_l("This request goes beyond the contract and waits for the customer's approval."))
        )
    if visit_at <= now:
        raise InvalidInput("visit_at", str(_l("Choose a time in the future.")))
    if duration_minutes <= 0 or duration_minutes > 60 * 24 * 14:
        raise InvalidInput("duration", str(_l("Give a duration between a minute and two weeks.")))
    if engineer.role not in STAFF_ROLES or not engineer.active:
        raise InvalidInput("engineer", str(_l("Choose an active engineer.")))
    if request.status == "open":
        lifecycle.apply(request, "start", actor, now, sla.load_calendar())
    lifecycle.apply(request, "schedule", actor, now, sla.load_calendar())
    request.scheduled_visit_at = visit_at
    request.visit_engineer_id = engineer.id
    request.visit_duration_minutes = duration_minutes
    _event(
        request,
        "visit_scheduled",
        actor,
        now,
        visit_at=visit_at.isoformat(),
        engineer_id=engineer.id,
        engineer=engineer.full_name,
        duration_minutes=duration_minutes,
    )
    _commit()
    return request


def log_time(
    request: ServiceRequest,
    actor: User,
    *,
    minutes: int,
    billable: bool,
    work_date: date,
    note: str = "",
    now: datetime | None = None,
) -> TimeEntry:
    now = now or utcnow()
    _require_work(actor, request)
    if not 0 < minutes <= 24 * 60:
        raise InvalidInput("minutes", str(_l("Log between 1 minute and 24 hours.")))
    if work_date > now.date():
        raise InvalidInput("work_date", str(_l("Time cannot be logged for a future day.")))
    entry = TimeEntry(
        request_id=request.id,
        contract_id=request.contract_id,
        user_id=actor.id,
        minutes=minutes,
        billable=billable,
        work_date=work_date,
        note=note.strip()[:500],
        created_at=now,
    )
    db.session.add(entry)
    _event(
        request, "time_logged", actor, now, note.strip(), internal=True, minutes=minutes, billable=billable
    )
    audit.record("request.time_logged", actor=actor, obj=request, minutes=minutes)
    db.session.commit()
    return entry
