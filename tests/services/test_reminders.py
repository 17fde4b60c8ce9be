"""The periodic jobs, on a controlled clock (time-machine): each tells the right people once, however often
it runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import ContactLog, Notification, ServiceRequest
from portal.services.engagement.relationship import add_months, due_dates
from portal.services.messaging import reminders
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import workflow
from portal.services.requests.workflow import NewRequest
from tests.factories import make_account, make_contract, make_user

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _told(user, kind: str) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == kind)
            .order_by(Notification.id)
        )
    )


@pytest.fixture
def urgent_request():
    account = make_account(tier="strategic")
    customer = make_user("customer", account=account)
    lead = make_user("lead", departments=["after_sales"])
    agent = make_user("agent", departments=["after_sales"])
    request = workflow.submit_request(
        account,
        customer,
        NewRequest("after_sale", "troubleshooting", "Down", priority="urgent"),
        now=MONDAY_9,
    )
    return request, lead, agent


def test_the_sla_sweep_alerts_the_lead_once_at_risk_and_once_breached(urgent_request):
    request, lead, agent = urgent_request
    assert request.resolution_at_risk_at < request.resolution_due_at
    with time_machine.travel(request.resolution_at_risk_at - timedelta(minutes=1), tick=False):
        assert reminders.sla_sweep() == 0
    with time_machine.travel(request.resolution_at_risk_at + timedelta(minutes=1), tick=False):
        assert reminders.sla_sweep() == 1
        assert reminders.sla_sweep() == 0
    with time_machine.travel(request.resolution_due_at + timedelta(hours=3), tick=False):
        assert reminders.sla_sweep() == 1
        assert reminders.sla_sweep() == 0
    with time_machine.travel(request.resolution_due_at + timedelta(days=3), tick=False):
        assert reminders.sla_sweep() == 0  # breached stays breached: no reminder every few minutes
    assert len(_told(lead, "sla_at_risk")) == 1 and len(_told(lead, "sla_breached")) == 1
    assert _told(agent, "sla_breached") == []  # the lead is alerted, not every member
    assert _told(lead, "sla_breached")[0].data["due"] == request.resolution_due_at.isoformat()


def test_a_paused_or_finished_request_raises_no_alert(urgent_request):
    request, lead, agent = urgent_request
    workflow.assign(request, agent, agent, seen_version=request.version)
    workflow.change_status(request, "start", agent, seen_version=None)
    workflow.change_status(request, "wait_for_customer", agent, seen_version=None)
    db.session.expire_all()
    due = db.session.get(ServiceRequest, request.id).resolution_due_at
    assert reminders.sla_sweep(now=due + timedelta(days=1)) == 0
    assert _told(lead, "sla_breached") == []


def test_auto_close_closes_long_resolved_requests_once_and_tells_the_requester(urgent_request, app):
    request, lead, agent = urgent_request
    workflow.assign(request, agent, agent, seen_version=request.version)
    workflow.change_status(request, "resolve", agent, seen_version=None, now=MONDAY_9 + timedelta(hours=2))
    days = app.config["AUTO_CLOSE_DAYS"]
    assert reminders.auto_close(now=MONDAY_9 + timedelta(days=days - 1)) == 0
    assert reminders.auto_close(now=MONDAY_9 + timedelta(days=days, hours=3)) == 1
    assert reminders.auto_close(now=MONDAY_9 + timedelta(days=days, hours=4)) == 0
    db.session.expire_all()
    closed = db.session.get(ServiceRequest, request.id)
    assert closed.status == "closed" and closed.closed_at is not None
    (notice,) = _told(closed.requester, "request_closed")
    assert notice.data["days"] == days


def test_contract_expiry_reminds_at_60_and_at_30_days_exactly_once_each():
    manager = make_user("agent", departments=["sales"])
    account = make_account(account_manager=manager)
    admin = make_user("customer_admin", account=account)
    plain = make_user("customer", account=account)
    today = date(2026, 11, 27)
    contract = make_contract(
        account, start_date=today - timedelta(days=300), end_date=today + timedelta(days=45)
    )
    make_contract(account, end_date=today + timedelta(days=20), state="terminated", terminated_on=today)
    with time_machine.travel(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), tick=False):
        # The two told it ends, and the account manager asked to prepare the renewal proposal.
        assert reminders.contract_expiry() == 3
        assert reminders.contract_expiry() == 0
    with time_machine.travel(datetime(2026, 12, 22, 2, 0, tzinfo=UTC), tick=False):  # 20 days left
        assert reminders.contract_expiry() == 2
        assert reminders.contract_expiry() == 0
    for person in (manager, admin):
        notices = _told(person, "contract_expiring")
        assert [n.data["contract"] for n in notices] == [contract.number, contract.number]
        assert [n.data["days"] for n in notices] == [45, 20]
    assert _told(plain, "contract_expiring") == []
    assert [n.data["contract"] for n in _told(manager, "renewal_due")] == [contract.number]


def test_return_visits_due_tell_the_account_manager_once_per_due_date():
    manager = make_user("agent", departments=["sales"])
    due = make_account(tier="strategic", account_manager=manager, name="Due Ltd")
    fine = make_account(tier="key", account_manager=manager, name="Fine Ltd")
    today = date(2026, 11, 27)
    db.session.add_all(
        [
            ContactLog(
                account_id=due.id, staff_id=manager.id, kind="call", contacted_on=today - timedelta(days=40)
            ),
            ContactLog(
                account_id=fine.id, staff_id=manager.id, kind="visit", contacted_on=today - timedelta(days=30)
            ),
        ]
    )
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), tick=False):
        assert reminders.return_visits_due() == 1
        assert reminders.return_visits_due() == 0
    (notice,) = _told(manager, "return_visit_due")
    assert notice.data["account"] == "Due Ltd" and notice.data["due_on"] == "2026-11-18"  # 18 Oct + 1 month


def test_cadence_arithmetic_per_tier_and_planned_dates():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    strategic, key, ordinary = (make_account(tier=t) for t in ("strategic", "key", "ordinary"))
    contacted = date(2026, 6, 10)
    for account in (strategic, key, ordinary):
        db.session.add(ContactLog(account_id=account.id, kind="meeting", contacted_on=contacted))
    # A next date planned before the cadence's own date brings the due date forward.
    db.session.add(
        ContactLog(account_id=key.id, kind="call", contacted_on=contacted, next_planned_on=date(2026, 7, 1))
    )
    db.session.commit()
    due = {d.account.id: d.due_on for d in due_dates([strategic, key, ordinary])}
    assert due == {strategic.id: date(2026, 7, 10), key.id: date(2026, 7, 1), ordinary.id: date(2026, 12, 10)}
