"""Queues: scope, the five queues, filters, search, and keyset pages that cover every row exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.services.reference_data import ensure_reference_data
from portal.services.requests import queues, sla
from portal.services.requests.queues import QueueFilters
from tests.factories import department, make_account, make_request, make_user

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # Wednesday 14:00 in Shanghai


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _refs(page: queues.QueuePage) -> list[str]:
    return [row.request.reference for row in page.rows]


@pytest.mark.parametrize("sort", queues.SORTS)
def test_keyset_pages_cover_every_row_once_in_order(sort):
    agent = make_user("agent", departments=["after_sales"])
    dept = department("after_sales").id
    customer = make_user("customer")
    priorities = ["low", "normal", "high", "urgent"]
    made = []
    for i in range(23):
        created = NOW - timedelta(hours=i % 7, minutes=i)
        made.append(
            make_request(
                customer,
                department_id=dept,
                priority=priorities[i % 4],
                created_at=created,
                resolution_due_at=created + timedelta(hours=(i * 5) % 11) if i % 5 else None,
            )
        )
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = queues.queue_page(agent, "all_open", QueueFilters(sort=sort), cursor=cursor, now=NOW, limit=5)
        seen += _refs(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(r.reference for r in made) and len(seen) == len(set(seen))
    whole = queues.queue_page(agent, "all_open", QueueFilters(sort=sort), now=NOW, limit=100)
    assert _refs(whole) == seen


def test_staff_see_their_departments_and_in_mine_what_is_assigned_to_them():
    agent = make_user("agent", departments=["after_sales"])
    customer = make_user("customer")
    ours = make_request(customer, department_id=department("after_sales").id)
    theirs = make_request(customer, department_id=department("marketing").id)
    lent = make_request(customer, department_id=department("marketing").id, assignee_id=agent.id)
    page = queues.queue_page(agent, "all_open", QueueFilters(), now=NOW)
    assert set(_refs(page)) == {ours.reference}
    # A request of another department assigned to them shows in "mine".
    assert _refs(queues.queue_page(agent, "mine", QueueFilters(), now=NOW)) == [lent.reference]
    manager = make_user("manager")
    assert theirs.reference in _refs(queues.queue_page(manager, "all_open", QueueFilters(), now=NOW))
    assert _refs(queues.queue_page(customer, "all_open", QueueFilters(), now=NOW)) == []


def test_the_five_queues():
    agent = make_user("agent", departments=["after_sales"])
    dept = department("after_sales").id
    customer = make_user("customer")
    unassigned = make_request(customer, department_id=dept, resolution_at_risk_at=NOW + timedelta(hours=5))
    mine = make_request(
        customer, department_id=dept, assignee_id=agent.id, resolution_at_risk_at=NOW - timedelta(minutes=1)
    )
    waiting = make_request(customer, department_id=dept, status="waiting_customer")
    late_reply = make_request(customer, department_id=dept, first_response_due_at=NOW - timedelta(minutes=5))
    make_request(customer, department_id=dept, status="resolved")
    expect = {
        "unassigned": {unassigned, waiting, late_reply},
        "mine": {mine},
        "at_risk": {mine, late_reply},
        "waiting": {waiting},
        "all_open": {unassigned, mine, waiting, late_reply},
    }
    for queue, requests in expect.items():
        page = queues.queue_page(agent, queue, QueueFilters(), now=NOW)
        assert set(_refs(page)) == {r.reference for r in requests}, queue
    assert queues.queue_counts(agent, NOW) == {q: len(r) for q, r in expect.items()}


def test_counts_stop_at_the_cap_and_a_request_late_on_both_clocks_counts_once():
    agent = make_user("agent", departments=["after_sales"])
    dept = department("after_sales").id
    customer = make_user("customer")
    hour_ago = NOW - timedelta(hours=1)
    late = dict(resolution_at_risk_at=hour_ago, first_response_due_at=hour_ago)
    for _ in range(3):
        make_request(customer, department_id=dept, **late)
    assert queues.queue_counts(agent, NOW)["at_risk"] == 3  # on both clocks, counted once
    capped = queues.queue_counts(agent, NOW, cap=2)
    assert capped == {"unassigned": 3, "mine": 0, "at_risk": 3, "waiting": 0, "all_open": 3}  # "2+"


def test_filters_and_search():
    agent = make_user("agent", departments=["after_sales"])
    dept = department("after_sales").id
    bank = make_user(
        "customer", account=make_account(name="华信银行", name_en="Huaxin Bank", tier="strategic")
    )
    plant = make_user(
        "customer",
        account=make_account(name="精工制造", name_en="Jinggong", tier="ordinary", industry="manufacturing"),
    )
    a = make_request(bank, department_id=dept, title="Storage controller", priority="urgent")
    b = make_request(plant, department_id=dept, title="Batch failures", subtype="warranty")

    def refs(**kwargs) -> set[str]:
        return set(_refs(queues.queue_page(agent, "all_open", QueueFilters(**kwargs), now=NOW)))

    assert refs(tier="ordinary") == {b.reference}
    assert refs(industry="finance") == {a.reference}
    assert refs(priority="urgent") == {a.reference}
    assert refs(subtype="warranty") == {b.reference}
    assert refs(account_name="华信") == refs(account_name="huaxin bank") == {a.reference}
    assert refs(account_name="100%") == set()  # typed text, never a pattern
    assert refs(search="controller") == {a.reference}
    assert refs(search="huaxin") == {a.reference}
    assert refs(search="精工") == {b.reference}
    assert refs(search=b.reference.lower()) == {b.reference}
    assert refs(search="50%_") == set()


def test_search_is_literal():
    """% _ and \\ match themselves, as a person typing them means: not "anything" and "any character"."""
    agent = make_user("agent", departments=["after_sales"])
    customer = make_user("customer", account=make_account())
    dept = department("after_sales").id
    sale = make_request(customer, department_id=dept, title="Licence 100%_off renewal")
    plain = make_request(customer, department_id=dept, title="Licence 100 off renewal")
    path = make_request(customer, department_id=dept, title="Share C:\\data unreachable")

    def refs(search: str) -> set[str]:
        return set(_refs(queues.queue_page(agent, "all_open", QueueFilters(search=search), now=NOW)))

    assert refs("%") == {sale.reference}
    assert refs("100%_off") == {sale.reference}
    assert refs("%_") == {sale.reference}
    assert refs("100_") == set()  # as a wildcard it would match both licences
    assert refs("100 off") == {plain.reference}
    assert refs("C:\\data") == {path.reference}
    assert refs("\\") == {path.reference}
    from portal.services.requests import my_requests

    mine = my_requests.request_page(customer, my_requests.RequestFilters(search="%"))
    assert [r.reference for r in mine.requests] == [sale.reference]


def test_a_damaged_cursor_starts_from_the_first_page():
    agent = make_user("agent", departments=["after_sales"])
    make_request(make_user("customer"), department_id=department("after_sales").id)
    for cursor in ("garbage", "W10", queues.encode_cursor(["x", "y", "z"])):
        assert len(queues.queue_page(agent, "all_open", QueueFilters(), cursor=cursor, now=NOW).rows) == 1


def test_sla_badges():
    customer = make_user("customer")
    cal = sla.WorkCalendar()
    due = NOW + timedelta(hours=1)
    ok = make_request(customer, resolution_due_at=due, resolution_at_risk_at=NOW + timedelta(minutes=30))
    assert queues.sla_badge(ok, cal, NOW) == ("ok", 60)
    risky = make_request(customer, resolution_due_at=due, resolution_at_risk_at=NOW - timedelta(minutes=30))
    assert queues.sla_badge(risky, cal, NOW) == ("at_risk", 60)
    late = make_request(customer, resolution_due_at=NOW - timedelta(hours=2))
    assert queues.sla_badge(late, cal, NOW) == ("breached", -120)
    paused = make_request(customer, resolution_due_at=due, sla_paused_since=NOW, status="waiting_customer")
    assert queues.sla_badge(paused, cal, NOW)[0] == "paused"
