"""The busy pages' queries are answered from indexes, not by reading every request: the main queue (on
PostgreSQL, and each queue page on SQLite) and a customer's dashboard (on both)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select, text

from portal import permissions
from portal.demo.bench import seed_bench
from portal.extensions import db
from portal.models import ServiceRequest, User
from portal.models.base import utcnow
from portal.services import overview
from portal.services.requests import queues
from tests.factories import make_user


@pytest.fixture
def postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL, the production database")


def _statements_of(work, *, containing: str) -> list[tuple[str, object]]:  # noqa: ANN001
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if containing in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return seen


def _plan(statement: str, parameters: object) -> str:
    explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    rows = db.session.connection().exec_driver_sql(explain + statement, parameters).all()  # type: ignore[arg-type]
    return " | ".join(str(row[-1]).strip() for row in rows)


def _dashboard_plans(customer: User) -> list[str]:
    """The plans of a customer dashboard's reads of the account's open and waiting requests."""
    seen = _statements_of(
        lambda: overview.customer_home(customer, utcnow().date()), containing="FROM service_requests"
    )
    return [_plan(statement, parameters) for statement, parameters in seen if "deliverables" not in statement]


def test_the_main_queue_query_uses_indexes(postgres_only):
    lead = make_user("lead", departments=["after_sales"])
    manager = make_user("manager")
    seed_bench(accounts=20, requests=8000, seed=3)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")  # statistics and visibility, as autovacuum keeps them
    user = db.session.get(User, lead.id)
    now = utcnow()
    query = (
        select(ServiceRequest.id)
        .where(
            permissions.queue_condition(user),
            queues.queue_condition("all_open", user, now),
            ServiceRequest.category == "after_sale",
        )
        .order_by(ServiceRequest.created_at, ServiceRequest.id)
        .limit(26)
    )
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = "\n".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
    assert "Index" in plan, plan
    assert "Seq Scan on service_requests" not in plan, plan

    # A customer's dashboard: the open list, the open count and "needs you" from their partial indexes.
    customer = db.session.scalar(select(User).where(User.role == "customer_admin").order_by(User.id))
    plans = _dashboard_plans(customer)
    assert len(plans) == 3
    assert all("Seq Scan on service_requests" not in plan for plan in plans), plans
    assert sum("ix_service_requests_open_account" in plan for plan in plans) == 2, plans
    assert "ix_service_requests_needs_customer" in plans[2], plans

    # Every tab is counted from an index alone (an index-only scan, never the table): at a million requests
    # the at-risk tab read the table, 21 ms of a 44 ms queue page, until its indexes held the id.
    for person in (user, db.session.get(User, manager.id)):
        ((statement, parameters),) = _statements_of(
            lambda person=person: queues.queue_counts(person, now), containing="FROM service_requests"
        )
        scans = [step for step in _plan(statement, parameters).split(" | ") if "Scan" in step]
        assert len(scans) == 6 and all("Index Only Scan" in step for step in scans), (person.role, scans)


@pytest.mark.parametrize(
    "role, index",
    [("manager", "ix_service_requests_open_created"), ("lead", "ix_service_requests_open_department")],
)
def test_on_sqlite_a_queue_page_reads_open_requests_in_order_from_their_index(role, index):
    """SQLite plans without statistics: the page of everyone's (or one department's) open requests must
    come in order from the partial index of open requests, never from collecting and sorting them all."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own plan")
    user = make_user(role, departments=["after_sales"] if role == "lead" else [])
    seen = _statements_of(
        lambda: queues.queue_page(user, "all_open", queues.QueueFilters(), now=utcnow()),
        containing="FROM service_requests",
    )
    statement, parameters = next((st, p) for st, p in seen if "ORDER BY" in st)
    details = _plan(statement, parameters)
    assert index in details and "TEMP B-TREE" not in details, details


@pytest.mark.parametrize(
    "role, indexes",
    [
        ("manager", ["unassigned", "assignee_status", "status_risk", "status_unanswered"]),
        ("lead", ["unassigned", "assignee_status", "department_risk", "department_unanswered"]),
    ],
)
def test_on_sqlite_each_tab_is_counted_from_its_own_index(role, indexes):
    """Without statistics SQLite chooses among indexes that look as good by the order they were made in:
    when the at-risk indexes were made again, the unassigned count left its partial index for one of every
    open request (16 -> 380 ms at 1M). Each tab's count must read its own index, whatever the order."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own plan")
    for index in ServiceRequest.__table__.indexes:  # the at-risk indexes made last, as that migration did
        if index.name in ("ix_service_requests_department_risk", "ix_service_requests_status_risk"):
            index.drop(db.session.connection())
            index.create(db.session.connection())
    user = make_user(role, departments=["after_sales"] if role == "lead" else [])
    ((statement, parameters),) = _statements_of(
        lambda: queues.queue_counts(user, utcnow()), containing="FROM service_requests"
    )
    used = re.findall(
        r"SEARCH service_requests USING (?:COVERING )?INDEX ix_service_requests_(\w+)",
        _plan(statement, parameters),
    )
    assert used[:4] == indexes, used


def test_on_sqlite_a_customers_dashboard_reads_only_open_and_waiting_requests():
    """The account's open requests (newest first, and their count) and what waits for the customer come
    from partial indexes: an account's closed history is never read for its dashboard (it was, and the
    dashboard grew by half from 100,000 to 1,000,000 requests)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own plan")
    customer = make_user("customer_admin")
    open_list, open_count, needs_you = _dashboard_plans(customer)
    assert "ix_service_requests_open_account" in open_list and "TEMP B-TREE" not in open_list, open_list
    assert "ix_service_requests_open_account" in open_count, open_count
    assert "ix_service_requests_needs_customer" in needs_you and "TEMP B-TREE" not in needs_you, needs_you
