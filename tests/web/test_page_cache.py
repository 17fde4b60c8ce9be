"""Busy pages served again without rendering: never older than the data (any commit that changes what pages
show raises the version) or than a minute, never another person's or another browser's."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import insert, update

from portal import changes
from portal.extensions import db
from portal.models import Account, LoginSession, RateLimitCounter, ServiceRequest
from portal.models.base import utcnow
from portal.services.identity import auth
from portal.services.requests import workflow
from tests.conftest import sign_in
from tests.factories import department, make_request, make_user


def _untokened(page: str) -> str:
    return re.sub(r"[\w.-]{40,}", "TOKEN", page)  # each answer carries a fresh CSRF token


def _in_after_sales(**kwargs):  # noqa: ANN003, ANN202
    return make_request(make_user("customer"), department_id=department("after_sales").id, **kwargs)


def test_the_version_moves_with_every_change_pages_show_and_only_then():
    start = changes.current(db.session())
    request = _in_after_sales(title="Counted")  # an ORM change, committed
    after_orm = changes.current(db.session())
    db.session.execute(update(ServiceRequest).where(ServiceRequest.id == request.id).values(title="Bulk"))
    db.session.commit()  # a bulk statement
    after_bulk = changes.current(db.session())
    db.session.execute(insert(RateLimitCounter).values(key="k", hits=1, expires_at=0.0))
    db.session.commit()  # bookkeeping no page shows
    after_bookkeeping = changes.current(db.session())
    db.session.get(Account, request.account_id).name = "Rolled back"
    db.session.flush()
    db.session.rollback()
    assert after_orm > start
    assert (after_bulk, after_bookkeeping) == (after_orm + 1, after_orm + 1)
    assert changes.current(db.session()) == after_orm + 1


def test_a_change_shows_at_once_and_each_person_sees_their_own_page(app, client, login_as):
    lead = login_as("lead", departments=["after_sales"], full_name="Lead One")
    request = _in_after_sales(title="Printer jam", status="submitted")
    first = client.get("/staff/queue").get_data(as_text=True)
    assert _untokened(client.get("/staff/queue").get_data(as_text=True)) == _untokened(first)  # served again
    # Someone else claims it (through the service, in another session): the lead's next view shows it.
    agent = make_user("agent", departments=["after_sales"], full_name="Agent Two")
    workflow.assign(db.session.get(ServiceRequest, request.id), agent, agent, seen_version=1)
    again = client.get("/staff/queue").get_data(as_text=True)
    assert "Agent Two" in again and "Agent Two" not in first
    # Another person with the same address gets their own page, never the lead's.
    other = app.test_client()
    sign_in(other, agent.email)
    theirs = other.get("/staff/queue").get_data(as_text=True)
    assert "Agent Two" in theirs.split("<main")[0] and "Lead One" not in theirs.split("<main")[0]
    assert lead.full_name in client.get("/staff/queue").get_data(as_text=True).split("<main")[0]


def test_each_browser_gets_its_own_token_and_can_act(app, client, login_as):
    lead = login_as("lead", departments=["after_sales"])
    request = _in_after_sales(status="submitted")
    second = app.test_client()
    sign_in(second, lead.email)
    client.get("/staff/queue")
    client.get("/staff/queue")  # kept (the first view after signing in changes the session)
    served = second.get("/staff/queue")  # served from what the first browser kept
    assert served.headers["X-Page-Cache"] == "hit"
    page = served.get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert "\x00" not in page and token != client.csrf_token("/staff/queue")
    answer = second.post(f"/staff/requests/{request.id}/claim", data={"csrf_token": token, "version": "1"})
    assert answer.status_code == 303
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).assignee_id == lead.id


def test_a_flashed_message_shows_once_and_the_minute_renders_afresh(client, login_as):
    login_as("lead", departments=["after_sales"])
    request = _in_after_sales(status="submitted", resolution_due_at=utcnow() + timedelta(hours=30))
    client.get("/staff/queue")
    token = client.csrf_token("/staff/queue")
    client.post("/staff/queue/bulk-assign", data={"csrf_token": token, "next": "/staff/queue"})
    flashed = client.get("/staff/queue").get_data(as_text=True)
    assert "请选择请求和指派对象。" in flashed
    assert "请选择请求和指派对象。" not in client.get("/staff/queue").get_data(as_text=True)
    before = client.get("/staff/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    with time_machine.travel(utcnow() + timedelta(hours=3), tick=False):
        later = client.get("/staff/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"request-{request.id}" in later and later != before  # its SLA clock moved on


def test_only_marked_busy_pages_are_kept(app):
    marked = {name for name, view in app.view_functions.items() if any(_kept(v) for v in _chain(view))}
    assert marked == {
        "internal.queue",
        "internal.workspace",
        "customer.home",
        "customer.requests",
        "customer.request_detail",
        "manager.home",
    }


def _kept(view) -> bool:  # noqa: ANN001
    return getattr(view, "page_cache", False)


def _chain(view):  # noqa: ANN001, ANN202
    while view is not None:
        yield view
        view = getattr(view, "__wrapped__", None)


def test_a_kept_page_is_found_without_the_orm_user_and_logged_with_their_id(
    client, login_as, monkeypatch, caplog
):
    lead = login_as("lead", departments=["after_sales"])
    _in_after_sales(status="submitted")
    client.get("/staff/queue")
    assert client.get("/staff/queue").headers["X-Page-Cache"] == "kept"

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a kept page loaded the ORM user")

    monkeypatch.setattr(auth, "user_of", refused)
    monkeypatch.setattr(auth, "load_signed_in_user", refused)
    caplog.clear()
    with caplog.at_level("INFO", logger="portal.requests"):
        served = client.get("/staff/queue")
    assert served.headers["X-Page-Cache"] == "hit"
    assert [r.user_id for r in caplog.records if r.name == "portal.requests"] == [lead.id]


def test_a_kept_page_is_never_served_to_a_session_that_stopped_working_or_to_another_role(
    app, client, login_as
):
    lead = login_as("lead", departments=["after_sales"])
    _in_after_sales(status="submitted")
    client.get("/staff/queue")
    assert client.get("/staff/queue").headers["X-Page-Cache"] == "kept"
    assert client.get("/staff/queue").headers["X-Page-Cache"] == "hit"
    # Revoking a session is bookkeeping no page shows: the data version stays, the kept page is still there.
    version = changes.current(db.session())
    db.session.execute(
        update(LoginSession).where(LoginSession.user_id == lead.id).values(revoked_at=utcnow())
    )
    db.session.commit()
    assert changes.current(db.session()) == version
    refused = client.get("/staff/queue")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    # A customer on the same address finds no page kept for them: the permission decorator answers.
    customer = app.test_client()
    sign_in(customer, make_user("customer").email)
    assert customer.get("/staff/queue").status_code == 403
