"""On PostgreSQL the main queue query is answered from indexes, not by reading every request."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

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
