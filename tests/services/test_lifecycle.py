"""The state machine, exhaustively: every state × every action × every kind of actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import TimelineEvent
from portal.models.requests import STATUSES
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import lifecycle, sla
from tests.factories import make_request, make_user

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Shanghai
CAL = sla.WorkCalendar()
ACTORS = ["customer", "customer_admin", "agent", "lead", "manager", "admin", None]

# What the policy allows, written out independently of the code: (action, from) -> to.
ALLOWED = {
    ("open", "submitted"): "open",
    ("start", "open"): "in_progress",
    ("start", "waiting_customer"): "in_progress",
    ("start", "scheduled"): "in_progress",
    ("wait_for_customer", "in_progress"): "waiting_customer",
    ("customer_replied", "waiting_customer"): "in_progress",
    ("schedule", "in_progress"): "scheduled",
    ("resolve", "open"): "resolved",
    ("resolve", "in_progress"): "resolved",
    ("close", "resolved"): "closed",
    ("reopen", "resolved"): "in_progress",
    ("cancel", "submitted"): "cancelled",
    ("cancel", "open"): "cancelled",
}
WHO = {
    "open": {"agent", "lead"},
    "start": {"agent", "lead"},
    "wait_for_customer": {"agent", "lead"},
    "schedule": {"agent", "lead"},
    "resolve": {"agent", "lead"},
    "customer_replied": {"customer", "customer_admin"},
    "reopen": {"customer", "customer_admin"},
    "cancel": {"customer", "customer_admin"},
    "close": {"customer", "customer_admin", None},
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", list(lifecycle.TRANSITIONS))
@pytest.mark.parametrize("status", STATUSES)
def test_every_state_action_and_actor(status, action, actor):
    ensure_reference_data()
    customer = make_user("customer")
    cast = {
        "customer": customer,
        "customer_admin": make_user("customer_admin", account=customer.account),
        "agent": make_user("agent", departments=["delivery"]),
        "lead": make_user("lead", departments=["delivery"]),
        "manager": make_user("manager"),
        "admin": make_user("admin"),
        None: None,
    }
    request = make_request(
        customer,
        category="on_site",
        subtype="installation",
        status=status,
        resolved_at=NOW - timedelta(days=1) if status == "resolved" else None,
    )
    expected = ALLOWED.get((action, status)) if actor in WHO[action] else None
    if expected is None:
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.apply(request, action, cast[actor], NOW, CAL)
        db.session.rollback()
        return
    event = lifecycle.apply(request, action, cast[actor], NOW, CAL)
    db.session.commit()
    assert request.status == expected
    assert (event.kind, event.data) == ("status_changed", {"from": status, "to": expected, "action": action})


def test_only_on_site_requests_can_be_scheduled():
    request = make_request(make_user("customer"), status="in_progress")
    with pytest.raises(lifecycle.TransitionRefused):
        lifecycle.apply(request, "schedule", make_user("agent"), NOW, CAL)


def test_reopening_is_limited_in_time():
    customer = make_user("customer")
    request = make_request(customer, status="resolved", resolved_at=NOW - timedelta(days=8))
    with pytest.raises(lifecycle.TransitionRefused):
        lifecycle.apply(request, "reopen", customer, NOW, CAL)
    request.resolved_at = NOW - timedelta(days=6)
    lifecycle.apply(request, "reopen", customer, NOW, CAL)
    assert (request.status, request.reopen_count, request.resolved_at) == ("in_progress", 1, None)


def test_waiting_for_the_customer_pauses_the_sla_clock():
    ensure_reference_data()
    customer = make_user("customer")
    agent = make_user("agent")
    created = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 Shanghai
    request = make_request(customer, status="in_progress", created_at=created)
    sla.set_due_times(request, CAL, sla.Targets(60, 240))
    assert request.resolution_due_at == created + timedelta(hours=4)
    lifecycle.apply(request, "wait_for_customer", agent, created + timedelta(hours=1), CAL)
    assert request.sla_paused_since == created + timedelta(hours=1)
    # Two business hours later the customer answers: the due time moves by two hours.
    lifecycle.apply(request, "customer_replied", customer, created + timedelta(hours=3), CAL)
    assert request.sla_paused_minutes == 120 and request.sla_paused_since is None
    assert request.resolution_due_at == created + timedelta(hours=6)
    db.session.commit()
    kinds = db.session.scalars(
        select(TimelineEvent.kind).where(TimelineEvent.request_id == request.id).order_by(TimelineEvent.id)
    ).all()
    assert kinds.count("status_changed") == 2


def test_available_actions_follow_the_table():
    customer = make_user("customer")
    agent = make_user("agent")
    request = make_request(customer, status="in_progress", category="on_site", subtype="training")
    assert lifecycle.available_actions(request, agent) == ["wait_for_customer", "resolve"]
    assert lifecycle.available_actions(request, customer) == []
    request.status = "resolved"
    assert lifecycle.available_actions(request, customer) == ["close", "reopen"]
