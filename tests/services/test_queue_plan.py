"""On PostgreSQL the main queue query is answered from indexes, not by reading every request."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from portal import permissions
from portal.demo.bench import seed_bench
from portal.extensions import db
from portal.models import ServiceRequest, User
from portal.models.base import utcnow
from portal.services.requests import queues
from tests.factories import make_user


@pytest.fixture
def postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL, the production database")


def test_the_main_queue_query_uses_indexes(postgres_only):
    lead = make_user("lead", departments=["after_sales"])
    seed_bench(accounts=20, requests=8000, seed=3)
    db.session.execute(text("ANALYZE"))
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
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if "FROM service_requests" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        queues.queue_page(user, "all_open", queues.QueueFilters(), now=utcnow())
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = seen[0]
    plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    details = " | ".join(str(row[-1]) for row in plan)
    assert index in details and "TEMP B-TREE" not in details, details
