"""Working a request: submit, status changes, replies and notes, routing, assignment, visits and time.

Each public function is a use case (``@use_case``: one transaction, committed on success, rolled back on any
error). Each locks the request's row first, so it works on the current state. State changes (status,
assignment, reroute, a visit) take the version the person saw: if someone else changed the request since,
``StaleRequest`` is raised and nothing is written. Appending (replies, internal notes, time) never conflicts
with a concurrent change.
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

from portal import permissions
from portal.extensions import db
from portal.models import (
    Account,
    Contract,
    Department,
    Prospect,
    ServiceRequest,
    TimeEntry,
    TimelineEvent,
    User,
)
from portal.models.accounts import STAFF_ROLES, department_memberships
from portal.models.base import utcnow
from portal.models.requests import OPEN_STATUSES, SUBTYPES
from portal.services import audit, submissions
from portal.services.errors import DomainError, InvalidInput, NotAllowed
from portal.services.requests import attachments, lifecycle, sla
from portal.services.requests.references import next_reference
from portal.services.requests.routing import route_request
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case
from portal.timeutil import today_for

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


def lock(request: ServiceRequest) -> None:
    """Read the request's current row and hold it until the use case ends (``FOR UPDATE`` on PostgreSQL;
    SQLite's use case already holds the database's write lock)."""
    db.session.refresh(request, with_for_update=True)


def _check_version(request: ServiceRequest, seen_version: int | None, *, required: bool = False) -> None:
    """``seen_version`` None means the caller does not track versions (the customer's own actions, the
    demo); an action that must know what the person saw (claim, assign) refuses to go on without it."""
    if (seen_version is None and required) or (seen_version is not None and seen_version != request.version):
        raise StaleRequest()


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


def _require_work(user: User, request: ServiceRequest) -> None:
    if not permissions.can_work_request(user, request):
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
    channel: str = "portal"  # INTAKE_CHANNELS


@use_case
def submit_request(
    party: Account | Prospect, requester: User, new: NewRequest, *, now: datetime | None = None
) -> ServiceRequest:
    """Create the request, give it a reference, route it, start its SLA clock and acknowledge it. ``party``
    is the account it is for, or a potential key account (pre-sale services only, no contract)."""
    now = now or utcnow()
    if new.subtype not in SUBTYPES.get(new.category, ()):
        raise InvalidInput("subtype", str(_l("Choose a service of this category.")))
    account = party if isinstance(party, Account) else None
    if account is None and (new.category != "pre_sale" or new.contract is not None):
        raise InvalidInput("subtype", str(_l("A potential key account can ask for pre-sale services only.")))
    if new.contract is not None and (account is None or new.contract.account_id != account.id):
        raise InvalidInput("contract", str(_l("Choose one of your account's contracts.")))
    request = ServiceRequest(
        reference=next_reference(now.year),
        account=account,
        prospect=party if isinstance(party, Prospect) else None,
        requester=requester,
        contract=new.contract,
        category=new.category,
        subtype=new.subtype,
        title=new.title,
        description=new.description,
        priority=new.priority,
        status="submitted",
        shared_with_account=new.shared_with_account,
        channel=new.channel,
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
    return request


# --- status -------------------------------------------------------------------------------------------------


@guards_against_stale_writes
@use_case
def change_status(
    request: ServiceRequest,
    action: str,
    actor: User | None,
    *,
    seen_version: int | None,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    lock(request)
    _check_version(request, seen_version)
    if actor is not None and permissions.is_staff(actor):
        _require_work(actor, request)
    elif actor is not None and not permissions.can_act_as_customer(actor, request):
        raise NotAllowed(str(_l("Only staff of the request's department can work on it.")))
    if action in lifecycle.FORM_ONLY_ACTIONS:
        raise lifecycle.TransitionRefused(str(_l("Use the form for this action.")))
    now = now or utcnow()
    event = lifecycle.apply(request, action, actor, now, sla.load_calendar(), note)
    if event.data.get("to") == "resolved":
        from portal.services.engagement import surveys

        surveys.invite_after_resolution(request, now)
    return request


# --- conversation -------------------------------------------------------------------------------------------


@guards_against_stale_writes
@use_case
def add_reply(
    request: ServiceRequest,
    author: User,
    body: str,
    *,
    internal: bool = False,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> TimelineEvent:
    """A public reply (staff or customer) or an internal note (staff only), appended whatever changed since
    the writer opened the page. The first public staff reply is the first response; a customer's reply to a
    request waiting for them puts it back in progress."""
    now = now or utcnow()
    body = body.strip()
    if not body:
        raise InvalidInput("body", str(_l("Write a message first.")))
    submissions.made(submissions.claim(author, idempotency_key, "reply"), request.id)
    lock(request)
    is_staff = permissions.is_staff(author)
    if is_staff:
        _require_work(author, request)
    elif internal or not permissions.can_act_as_customer(author, request):
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
    return event


@use_case
def reply_with_files(
    request: ServiceRequest,
    author: User,
    body: str,
    uploads: list[attachments.Upload],
    *,
    files: FileStore,
    max_bytes: int,
    internal: bool = False,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> TimelineEvent:
    """A reply and its files, all or nothing: every file is checked before anything is written, and a file
    that cannot be stored takes the reply with it."""
    for upload in uploads:
        attachments.check(upload, max_bytes)
    event = add_reply(request, author, body, internal=internal, now=now, idempotency_key=idempotency_key)
    if uploads:
        attachments.attach_to_request(
            request, uploads, author, files=files, max_bytes=max_bytes, internal=internal
        )
    return event


# --- routing and assignment --------------------------------------------------------------------------------


@guards_against_stale_writes
@use_case
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
    lock(request)
    _check_version(request, seen_version)
    _require_work(actor, request)
    if department.id == request.department_id:
        raise InvalidInput("department", str(_l("The request is already with this department.")))
    previous = request.department.code if request.department else None
    request.department_id = department.id
    request.assignee_id = None
    request.updated_at = now
    _event(request, "routed", actor, now, reason, department=department.code, previous=previous, rule_id=None)
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
@use_case
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
    lock(request)
    _check_version(request, seen_version, required=True)
    _require_work(actor, request)
    lead = permissions.can_assign_others(actor, request)
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
            request.department_id not in permissions.department_ids(assignee)
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
    return request


@use_case
def assign_many(
    seen: list[tuple[ServiceRequest, int]],
    assignee: User,
    actor: User,
    *,
    now: datetime | None = None,
) -> int:
    """A lead's bulk assignment of (request, version seen) pairs: all of them or, if any one is refused,
    none (the error names the request)."""
    for request, seen_version in seen:
        try:
            assign(request, assignee, actor, seen_version=seen_version, now=now)
        except DomainError as error:
            raise _about(request, error) from error
    return len(seen)


def _about(request: ServiceRequest, error: DomainError) -> DomainError:
    return NotAllowed(
        str(_l("Nothing was assigned: %(ref)s — %(why)s", ref=request.reference, why=str(error)))
    )


# --- on-site visits and time ------------------------------------------------------------------------------


@guards_against_stale_writes
@use_case
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
    lock(request)
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
    return request


@use_case
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
    if work_date > today_for(actor, now):  # the actor's today: at 01:00 in Shanghai it is yesterday in UTC
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
    return entry
