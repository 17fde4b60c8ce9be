"""Working requests: submit, reply, reroute, assign, visits, time, and never losing an update."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Department, ServiceRequest, TimeEntry, TimelineEvent
from portal.services.errors import InvalidInput
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import workflow
from portal.services.requests.workflow import NewRequest, NotAllowed, StaleRequest
from tests.factories import department, make_account, make_request, make_user

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _kinds(request: ServiceRequest) -> list[str]:
    return list(
        db.session.scalars(
            select(TimelineEvent.kind)
            .where(TimelineEvent.request_id == request.id)
            .order_by(TimelineEvent.id)
        )
    )


def test_submit_routes_starts_the_sla_clock_and_records_the_timeline():
    account = make_account(tier="key")
    customer = make_user("customer", account=account)
    request = workflow.submit_request(
        account,
        customer,
        NewRequest("after_sale", "troubleshooting", "Down", priority="urgent"),
        now=MONDAY_9,
    )
    assert request.reference == "SR-2026-000001" and request.status == "submitted"
    assert request.department.code == "after_sales"
    # key tier doubles strategic urgent (1 h / 8 h): 2 h and 16 business hours = Monday 11:00, Tuesday 16:00.
    assert (request.first_response_target_minutes, request.resolution_target_minutes) == (120, 960)
    assert request.first_response_due_at == MONDAY_9 + timedelta(hours=2)
    assert request.resolution_due_at == MONDAY_9 + timedelta(days=1, hours=7)
    assert _kinds(request) == ["created", "routed"]


def test_submit_refuses_a_foreign_contract_and_a_wrong_subtype():
    customer = make_user("customer")
    from tests.factories import make_contract

    foreign = make_contract(make_account())
    with pytest.raises(InvalidInput):
        workflow.submit_request(customer.account, customer, NewRequest("on_site", "warranty", "x"))
    with pytest.raises(InvalidInput):
        workflow.submit_request(
            customer.account, customer, NewRequest("on_site", "training", "x", contract=foreign)
        )
    db.session.rollback()
    assert db.session.scalar(select(ServiceRequest)) is None


def test_auto_assignment_picks_the_least_loaded_agent():
    dept = department("after_sales")
    dept.auto_assign = True
    busy = make_user("agent", departments=["after_sales"])
    idle = make_user("agent", departments=["after_sales"])
    make_user("agent", departments=["after_sales"], active=False)
    customer = make_user("customer")
    make_request(customer, department_id=dept.id, assignee_id=busy.id)
    request = workflow.submit_request(customer.account, customer, NewRequest("after_sale", "warranty", "x"))
    assert request.assignee_id == idle.id
    assert _kinds(request) == ["created", "routed", "assigned"]


def test_the_first_public_staff_reply_is_the_first_response():
    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id)
    workflow.add_reply(request, agent, "Internal thoughts", internal=True, now=MONDAY_9)
    assert request.first_responded_at is None
    workflow.add_reply(request, agent, "We are on it", now=MONDAY_9)
    assert request.first_responded_at == MONDAY_9
    workflow.add_reply(request, agent, "Still on it", now=MONDAY_9 + timedelta(1))
    assert request.first_responded_at == MONDAY_9


def test_the_first_response_due_time_stays_put_after_the_response():
    """It once jumped from 11/9 to 12/2 after a pause; later pauses move the resolution only."""
    from portal.services.requests import sla

    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, status="in_progress")
    calendar = sla.load_calendar()
    sla.set_due_times(request, calendar, sla.Targets(240, 2400))
    db.session.commit()
    start = request.created_at
    first_due, resolution_due = request.first_response_due_at, request.resolution_due_at
    workflow.add_reply(request, agent, "We are on it", now=start + timedelta(minutes=1))
    met = sla.first_response_clock(request, calendar, start + timedelta(days=30))
    request.status, request.sla_paused_since = "waiting_customer", start + timedelta(days=1)
    db.session.commit()
    workflow.add_reply(request, customer, "Back from holiday", now=start + timedelta(days=8))
    assert request.sla_paused_minutes > 0
    assert request.first_response_due_at == first_due
    assert request.resolution_due_at > resolution_due
    assert sla.first_response_clock(request, calendar, start + timedelta(days=30)) == met


def test_customers_cannot_write_internal_notes_or_empty_replies():
    customer = make_user("customer")
    request = make_request(customer)
    with pytest.raises(NotAllowed):
        workflow.add_reply(request, customer, "psst", internal=True)
    with pytest.raises(InvalidInput):
        workflow.add_reply(request, customer, "   ")


def test_a_customer_reply_puts_a_waiting_request_back_in_progress():
    customer = make_user("customer")
    request = make_request(customer, status="waiting_customer", sla_paused_since=MONDAY_9)
    workflow.add_reply(
        request,
        customer,
        "Here are the logs",
        now=MONDAY_9 + timedelta(hours=1),
    )
    assert request.status == "in_progress" and request.sla_paused_minutes == 60


def test_staff_of_another_department_cannot_act():
    customer = make_user("customer")
    outsider = make_user("agent", departments=["marketing"])
    request = make_request(customer, department_id=department("after_sales").id)
    with pytest.raises(NotAllowed):
        workflow.add_reply(request, outsider, "hello")
    with pytest.raises(NotAllowed):
        workflow.change_status(request, "open", outsider, seen_version=request.version)
    with pytest.raises(NotAllowed):
        workflow.assign(request, outsider, outsider, seen_version=request.version)
    # ...unless the request is assigned to them.
    request.assignee_id = outsider.id
    db.session.commit()
    workflow.add_reply(request, outsider, "hello")


def test_claim_assign_and_unassign_rules():
    customer = make_user("customer")
    dept = department("after_sales")
    agent = make_user("agent", departments=["after_sales"])
    other = make_user("agent", departments=["after_sales"])
    lead = make_user("lead", departments=["after_sales"])
    request = make_request(customer, department_id=dept.id, status="submitted")

    workflow.assign(request, agent, agent, seen_version=request.version)  # a claim
    assert (request.assignee_id, request.status) == (agent.id, "open")
    with pytest.raises(NotAllowed):
        workflow.assign(request, other, other, seen_version=request.version)  # already taken
    with pytest.raises(NotAllowed):
        workflow.assign(request, other, agent, seen_version=request.version)  # agents do not assign others
    workflow.assign(request, other, lead, seen_version=request.version)
    assert request.assignee_id == other.id
    with pytest.raises(InvalidInput):
        workflow.assign(
            request, make_user("agent", departments=["sales"]), lead, seen_version=request.version
        )
    with pytest.raises(NotAllowed):
        workflow.assign(request, None, agent, seen_version=request.version)
    workflow.assign(request, None, other, seen_version=request.version)
    assert request.assignee_id is None


def test_reroute_needs_a_reason_and_is_on_the_timeline():
    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, assignee_id=agent.id)
    with pytest.raises(InvalidInput):
        workflow.reroute(request, department("tech_support"), agent, "  ", seen_version=request.version)
    workflow.reroute(
        request, department("tech_support"), agent, "It is a software question", seen_version=request.version
    )
    assert request.department.code == "tech_support" and request.assignee_id is None
    event = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "routed")).one()
    assert event.body == "It is a software question" and event.data["previous"] == "after_sales"


def test_a_stale_version_is_refused_and_changes_nothing():
    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, status="in_progress")
    seen = request.version
    workflow.change_status(request, "wait_for_customer", agent, seen_version=seen)
    before = _kinds(request)
    with pytest.raises(StaleRequest):
        workflow.change_status(request, "resolve", agent, seen_version=seen)
    assert request.status == "waiting_customer" and _kinds(request) == before


def test_a_reply_is_appended_whatever_changed_since_the_page_was_opened():
    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, status="in_progress")
    workflow.change_status(request, "wait_for_customer", agent, seen_version=request.version)
    workflow.add_reply(request, agent, "a note written on the old page", internal=True)
    workflow.add_reply(request, customer, "and the customer's answer")
    assert _kinds(request)[-3:] == ["internal_note", "public_reply", "status_changed"]
    assert request.status == "in_progress"  # the customer's answer ends the wait, as always


def test_two_sessions_at_once_never_lose_an_update(app):
    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, status="in_progress")
    seen = request.version
    # A colleague's transaction commits first, through its own session.
    other = db.session.session_factory()  # type: ignore[attr-defined]
    try:
        theirs = other.get(ServiceRequest, request.id)
        theirs.status = "waiting_customer"
        theirs.version  # noqa: B018
        other.commit()
    finally:
        other.close()
    # We still hold the old row in memory and the version we saw matches it: the database catches it.
    with pytest.raises(StaleRequest):
        workflow.change_status(request, "resolve", agent, seen_version=seen)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "waiting_customer"


def test_schedule_a_visit():
    customer = make_user("customer")
    engineer = make_user("agent", departments=["delivery"])
    request = make_request(
        customer,
        category="on_site",
        subtype="installation",
        status="open",
        department_id=department("delivery").id,
    )
    with pytest.raises(InvalidInput):
        workflow.schedule_visit(
            request,
            engineer,
            visit_at=MONDAY_9,
            engineer=engineer,
            duration_minutes=120,
            seen_version=request.version,
            now=MONDAY_9 + timedelta(hours=1),
        )
    workflow.schedule_visit(
        request,
        engineer,
        visit_at=MONDAY_9 + timedelta(days=2),
        engineer=engineer,
        duration_minutes=240,
        seen_version=request.version,
        now=MONDAY_9,
    )
    assert request.status == "scheduled" and request.visit_engineer_id == engineer.id
    assert _kinds(request)[-3:] == ["status_changed", "status_changed", "visit_scheduled"]


def test_log_time_against_the_contract():
    from tests.factories import make_contract

    customer = make_user("customer")
    contract = make_contract(customer.account)
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, contract=contract)
    entry = workflow.log_time(
        request, agent, minutes=90, billable=True, work_date=date(2026, 11, 23), now=MONDAY_9
    )
    assert (entry.contract_id, entry.minutes) == (contract.id, 90)
    with pytest.raises(InvalidInput):
        workflow.log_time(
            request, agent, minutes=0, billable=True, work_date=date(2026, 11, 23), now=MONDAY_9
        )
    with pytest.raises(InvalidInput):
        workflow.log_time(
            request, agent, minutes=30, billable=True, work_date=date(2026, 11, 30), now=MONDAY_9
        )
    assert db.session.scalar(select(TimeEntry.id).where(TimeEntry.minutes == 0)) is None
    assert db.session.get(Department, department("after_sales").id) is not None


@pytest.mark.parametrize("action", ["reroute", "schedule"])
def test_a_write_over_a_colleagues_commit_is_refused_whatever_the_action(app, action):
    customer = make_user("customer")
    agent = make_user("agent", departments=["delivery"])
    request = make_request(
        customer,
        department_id=department("delivery").id,
        status="in_progress",
        category="on_site",
        subtype="installation",
    )
    seen = request.version
    other = db.session.session_factory()  # type: ignore[attr-defined]
    try:
        other.get(ServiceRequest, request.id).title = "Renamed by a colleague"
        other.commit()
    finally:
        other.close()
    with pytest.raises(StaleRequest):
        if action == "reroute":
            workflow.reroute(request, department("after_sales"), agent, "why", seen_version=seen)
        else:
            workflow.schedule_visit(
                request,
                agent,
                visit_at=MONDAY_9 + timedelta(days=900),
                engineer=agent,
                duration_minutes=60,
                seen_version=seen,
                now=MONDAY_9,
            )
    db.session.expire_all()
    fresh = db.session.get(ServiceRequest, request.id)
    assert fresh.title == "Renamed by a colleague" and fresh.department.code == "delivery"
    assert fresh.status == "in_progress"


def test_a_reply_over_a_colleagues_commit_is_appended_and_keeps_their_change(app):
    customer = make_user("customer")
    agent = make_user("agent", departments=["delivery"])
    request = make_request(customer, department_id=department("delivery").id, status="in_progress")
    other = db.session.session_factory()  # type: ignore[attr-defined]
    try:
        other.get(ServiceRequest, request.id).title = "Renamed by a colleague"
        other.commit()
    finally:
        other.close()
    workflow.add_reply(request, agent, "on it", now=MONDAY_9)
    db.session.expire_all()
    fresh = db.session.get(ServiceRequest, request.id)
    assert fresh.title == "Renamed by a colleague" and fresh.first_responded_at is not None


def test_a_claim_without_the_version_seen_is_refused(app):
    customer = make_user("customer")
    agent = make_user("agent", departments=["delivery"])
    request = make_request(customer, department_id=department("delivery").id, status="submitted")
    with pytest.raises(StaleRequest):
        workflow.assign(request, agent, agent, seen_version=None)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).assignee_id is None
