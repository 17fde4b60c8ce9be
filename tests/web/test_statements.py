"""Each busy page runs a fixed number of SQL statements, whatever the data holds: rendered afresh on the
demo company, then again after its account and department have many more requests (assigned and not) —
the same count, and within its budget. Served again from the page cache, one: the signed-in session, with
the data version read along. (Speed itself is measured by ``make bench``, never asserted.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, Contract, User
from portal.services.requests import workflow
from tests.conftest import sign_in
from tests.factories import department, make_request

LEAD, CUSTOMER, MANAGER = "aftersales@portal.example", "li.na@huaxin-bank.example", "manager@portal.example"

# (who, page, the most statements it may run); {request} / {own} are filled from the demo company.
BUDGETS = [
    (LEAD, "/staff/queue", 11),
    (LEAD, "/staff/queue?queue=unassigned&category=after_sale&sort=due", 11),
    (LEAD, "/staff/queue?queue=all_open&sort=priority&q=SR", 11),
    (MANAGER, "/staff/queue", 10),
    (LEAD, "/staff/requests/{request}", 20),
    (CUSTOMER, "/my/", 19),
    (CUSTOMER, "/my/requests", 7),
    (CUSTOMER, "/my/requests/{own}", 9),
    (MANAGER, "/manager/", 24),  # the five KPIs and the pipeline's funnel (4)
]


def _more_requests(count: int) -> None:
    """Requests of the demo's Huaxin Bank for after-sales, some under its contract, some assigned."""
    bank = db.session.scalar(select(Account).where(Account.name == "华信银行"))
    customer = db.session.scalar(select(User).where(User.email == CUSTOMER))
    lead = db.session.scalar(select(User).where(User.email == LEAD))
    contract = db.session.scalar(select(Contract).where(Contract.account_id == bank.id).limit(1))
    for i in range(count):
        request = make_request(
            customer,
            account=bank,
            department_id=department("after_sales").id,
            title=f"More {i}",
            contract_id=contract.id if i % 3 else None,
        )
        if i % 2:
            workflow.assign(request, lead, lead, seen_version=request.version)


def _counted(client, count_queries, path: str) -> int:  # noqa: ANN001
    with count_queries() as counted:
        answer = client.get(path)
    assert answer.status_code == 200, path
    return counted.n


@pytest.mark.demo_data
def test_busy_pages_run_a_fixed_number_of_statements(app, client, count_queries, demo_written):  # noqa: ARG001
    clients: dict[str, object] = {}

    def client_of(email: str) -> object:
        if email not in clients:
            clients[email] = app.test_client()
            sign_in(clients[email], email, "demo-Portal-2026")
        return clients[email]

    lead_queue = client_of(LEAD).get("/staff/queue").get_data(as_text=True)
    ids = {
        "request": re.search(r'href="/staff/requests/(\d+)"', lead_queue).group(1),
        "own": re.search(
            r'href="/my/requests/(\d+)"', client_of(CUSTOMER).get("/my/requests").get_data(as_text=True)
        ).group(1),
    }
    pages: list[tuple[object, str, int]] = [
        (client_of(who), page.format(**ids), budget) for who, page, budget in BUDGETS
    ]
    app.config["PAGE_CACHE"] = False
    try:
        _more_requests(10)  # every kind of row a page shows exists (an empty relation costs no statement)
        before = [_counted(c, count_queries, path) for c, path, _ in pages]
        _more_requests(30)
        after = [_counted(c, count_queries, path) for c, path, _ in pages]
    finally:
        app.config["PAGE_CACHE"] = True
    table = [(path, b, a, budget) for (_, path, budget), b, a in zip(pages, before, after, strict=True)]
    assert [(p, b, a) for p, b, a, _ in table if a != b] == [], "a page's statements grew with the data"
    over = [(p, a, budget) for p, _, a, budget in table if a > budget]
    assert not over, f"over budget: {over}"
    # Kept and served again: the one statement that loads the signed-in session and the data version.
    for client, path, _ in pages:
        client.get(path)
        assert _counted(client, count_queries, path) == 1, path
