"""The flask commands a deployment uses."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from tests.factories import make_account


def test_create_user_for_staff_and_customers(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Ops@Example.com",
            "--name",
            "Ops",
            "--role",
            "lead",
            "--department",
            "after_sales",
            "--password",
            "a strong password",
        ]
    )
    assert result.exit_code == 0, result.output
    lead = db.session.scalar(select(User).where(User.email == "ops@example.com"))
    assert lead.role == "lead" and [d.code for d in lead.departments] == ["after_sales"]

    account = make_account(name="测试银行", name_en="Test Bank")
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "c@example.com",
            "--name",
            "C",
            "--role",
            "customer",
            "--account",
            "Test Bank",
            "--password",
            "a strong password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.account_id).where(User.email == "c@example.com")) == account.id


def test_create_user_refuses_bad_input_and_writes_nothing(app):
    runner = app.test_cli_runner()
    for args in (
        ["--role", "customer", "--password", "a strong password"],  # customer without account
        ["--role", "customer", "--account", "Nobody Inc", "--password", "a strong password"],
        ["--role", "agent", "--password", "short"],
    ):
        result = runner.invoke(args=["create-user", "--email", "x@example.com", "--name", "X", *args])
        assert result.exit_code != 0
        assert "Error" in result.output
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is None


def test_seed_demo_if_empty_runs_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--if-empty", "--seed", "3"])
    assert first.exit_code == 0 and "12 users" in first.output
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert second.exit_code == 0 and "already has users" in second.output
    third = runner.invoke(args=["seed-demo"])
    assert third.exit_code != 0


def test_search_reindex_mends_entries_lost_round_the_session(app):
    from portal.models import SearchEntry
    from portal.services.search import finding
    from tests.factories import make_request, make_user

    customer = make_user("customer")
    request = make_request(customer, title="机房空调漏水")
    db.session.execute(SearchEntry.__table__.delete())  # as a bulk load that went round the session would
    db.session.commit()
    assert finding.search(customer, "漏水").empty
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 entries" in result.output  # the request and its account
    hits = finding.search(customer, "漏水").sections["requests"]
    assert [h.request_id for h in hits] == [request.id]
