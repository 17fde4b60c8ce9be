"""The same form sent twice creates one record, and the second answer leads to it: a new request, a customer's
reply, a staff reply, a report publication and a contact record, each posted twice with the key the page
gave it. (At the same moment against a real server: tests/test_concurrency.py.)"""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ContactLog, Deliverable, ServiceRequest, TimelineEvent
from portal.services.reference_data import ensure_reference_data
from tests.factories import department, make_account, make_request, make_user
from tests.web.test_new_request import _on_site_form


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _key(page: str) -> str:
    match = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', page
    )
    assert match, "the form carries no idempotency key"
    return match.group(1)


def _twice(client, path, data):
    first = client.post(path, data=dict(data))
    second = client.post(path, data=dict(data))
    return first, second


def test_a_new_request_sent_twice_is_filed_once(client, login_as):
    login_as("customer")
    page = client.get("/my/new/on_site/installation").get_data(as_text=True)
    token = client.csrf_token("/my/new/on_site/installation")
    data = {**_on_site_form(token), "idempotency_key": _key(page)}
    first, second = _twice(client, "/my/new/on_site/installation", data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1
    other = client.get("/my/new/on_site/installation").get_data(as_text=True)
    assert _key(other) != data["idempotency_key"]  # a fresh form is a fresh request


def test_a_customer_reply_sent_twice_is_kept_once(client, login_as):
    customer = login_as("customer")
    request = make_request(customer, department_id=department("after_sales").id)
    path = f"/my/requests/{request.id}"
    key = _key(client.get(path).get_data(as_text=True))
    data = {"csrf_token": client.csrf_token(path), "body": "Logs attached", "idempotency_key": key}
    first, second = _twice(client, f"{path}/reply", data)
    assert first.status_code == second.status_code == 303 and second.headers["Location"] == path
    replies = select(func.count()).where(
        TimelineEvent.request_id == request.id, TimelineEvent.kind == "public_reply"
    )
    assert db.session.scalar(replies) == 1


def test_a_staff_reply_and_a_report_sent_twice_are_kept_once(client, login_as):
    login_as("agent", departments=["marketing"])
    customer = make_user("customer")
    request = make_request(
        customer, department_id=department("marketing").id, category="value_added", subtype="custom_report"
    )
    path = f"/staff/requests/{request.id}"
    page = client.get(path).get_data(as_text=True)
    keys = re.findall(r'name="idempotency_key"[^>]*value="([^"]+)"', page)
    assert len(keys) == 2 and keys[0] != keys[1]  # the reply form and the report form
    token = client.csrf_token(path)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    reply = {"csrf_token": token, "version": version, "body": "On it", "idempotency_key": keys[0]}
    first, second = _twice(client, f"{path}/reply", reply)
    assert first.status_code == second.status_code == 303
    report = {"csrf_token": token, "title": "Market outlook", "idempotency_key": keys[1]}
    for _ in range(2):
        client.post(
            f"{path}/deliverables",
            data={**report, "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "outlook.pdf")},
        )
    kinds = db.session.scalars(
        select(TimelineEvent.kind).where(TimelineEvent.request_id == request.id).order_by(TimelineEvent.id)
    ).all()
    assert kinds.count("public_reply") == 1 and kinds.count("deliverable_published") == 1
    assert db.session.scalar(select(func.count(Deliverable.id))) == 1


def test_a_contact_record_sent_twice_is_kept_once(client, login_as):
    manager = login_as("agent", departments=["sales"])
    account = make_account(account_manager=manager)
    path = f"/staff/accounts/{account.id}"
    key = _key(client.get(path).get_data(as_text=True))
    data = {
        "csrf_token": client.csrf_token(path),
        "kind": "call",
        "contacted_on": "2026-11-30",
        "notes": "Renewal",
        "idempotency_key": key,
    }
    first, second = _twice(client, f"{path}/contacts", data)
    assert first.status_code == second.status_code == 303
    assert db.session.scalar(select(func.count(ContactLog.id))) == 1
