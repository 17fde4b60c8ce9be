"""The request state machine (DESIGN.md §3), in one place.

Each action names the states it may start from, the state it leads to, and who may take it: the customer,
staff (agents and leads), or the system. Anything else is refused with ``TransitionRefused``. Entering and
leaving ``waiting_customer`` pauses and resumes the SLA clock; every change writes a timeline event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import ServiceRequest, TimelineEvent, User
from portal.models.accounts import CUSTOMER_ROLES, STAFF_ROLES
from portal.services.errors import DomainError
from portal.services.requests import sla

REOPEN_WITHIN = timedelta(days=7)


class TransitionRefused(DomainError):
    """The action does not exist from this state, or this person may not take it."""


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str
    actors: frozenset[str]  # "customer", "staff", "system"
    label: object  # a lazy translated string: the button people press


TRANSITIONS: dict[str, Transition] = {
    "open": Transition(("submitted",), "open", frozenset({"staff"}), _l("Accept")),
    "start": Transition(
        ("open", "waiting_customer", "scheduled"), "in_progress", frozenset({"staff"}), _l("Start work")
    ),
    "wait_for_customer": Transition(
        ("in_progress",), "waiting_customer", frozenset({"staff"}), _l("Wait for customer")
    ),
    "customer_replied": Transition(
        ("waiting_customer",), "in_progress", frozenset({"customer"}), _l("Reply")
    ),
    "schedule": Transition(("in_progress",), "scheduled", frozenset({"staff"}), _l("Schedule visit")),
    "resolve": Transition(("open", "in_progress"), "resolved", frozenset({"staff"}), _l("Resolve")),
    "close": Transition(("resolved",), "closed", frozenset({"customer", "system"}), _l("Confirm and close")),
    "reopen": Transition(("resolved",), "in_progress", frozenset({"customer"}), _l("Reopen")),
    "cancel": Transition(("submitted", "open"), "cancelled", frozenset({"customer"}), _l("Cancel request")),
}
# Actions that need more than a button: scheduling needs a visit, a customer reply needs a message.
FORM_ONLY_ACTIONS = frozenset({"schedule", "customer_replied"})


def actor_kind(actor: User | None) -> str:
    if actor is None:
        return "system"
    if actor.role in CUSTOMER_ROLES:
        return "customer"
    if actor.role in STAFF_ROLES:
        return "staff"
    return "other"


def available_actions(request: ServiceRequest, actor: User | None) -> list[str]:
    """The plain status actions this person can take on the request now, in a stable order."""
    kind = actor_kind(actor)
    return [
        name
        for name, t in TRANSITIONS.items()
        if request.status in t.sources
        and kind in t.actors
        and name not in FORM_ONLY_ACTIONS
        and (name != "schedule" or request.category == "on_site")
    ]


def apply(
    request: ServiceRequest,
    action: str,
    actor: User | None,
    now: datetime,
    calendar: sla.WorkCalendar,
    note: str = "",
) -> TimelineEvent:
    """Move the request along ``action`` or raise ``TransitionRefused``. Does not commit."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionRefused(str(_l("There is no such action.")))
    if actor_kind(actor) not in transition.actors:
        raise TransitionRefused(str(_l("You may not take this action on a request.")))
    if request.status not in transition.sources:
        raise TransitionRefused(
            str(_l("A request that is “%(status)s” cannot do that.", status=_status_label(request.status)))
        )
    if action == "schedule" and request.category != "on_site":
        raise TransitionRefused(str(_l("Only on-site requests have visits.")))
    if action == "reopen" and request.resolved_at and now - request.resolved_at > REOPEN_WITHIN:
        raise TransitionRefused(
            str(_l("This request was resolved too long ago to reopen; please file a new one."))
        )

    previous = request.status
    if previous == "waiting_customer":
        sla.resume_clock(request, calendar, now)
    if transition.target == "waiting_customer":
        sla.pause_clock(request, now)
    if transition.target == "resolved":
        request.resolved_at = now
        worked = sla.business_minutes_between(calendar, request.created_at, now) - request.sla_paused_minutes
        request.resolution_business_minutes = max(worked, 0)
    elif transition.target == "closed":
        request.closed_at = now
    elif transition.target == "cancelled":
        request.cancelled_at = now
    if action == "reopen":
        request.resolved_at = None
        request.resolution_business_minutes = None
        request.reopen_count += 1
    request.status = transition.target
    request.updated_at = now
    event = TimelineEvent(
        request_id=request.id,
        kind="status_changed",
        actor_id=actor.id if actor else None,
        body=note,
        data={"from": previous, "to": transition.target, "action": action},
        created_at=now,
    )
    db.session.add(event)
    return event


def _status_label(status: str) -> str:
    from portal.labels import label

    return label("status", status)
