"""Contracts from draft to end on screen: drafted with entitlements (every problem at once), hidden from the
customer while a draft, signed off only with the signed copy on file (each copy kept), renewed with the same
entitlements, ended early with the open requests released; who may (admin, finance, the account manager)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Attachment, AuditEvent, Contract, ServiceRequest, TimelineEvent
from tests.factories import make_account, make_contract, make_request, make_user

EN = {"Accept-Language": "en"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TERMS = {
    "number": "ACME-2027-01",
    "title": "Service agreement 2027",
    "start_date": "2027-01-01",
    "end_date": "2027-12-31",
    "amount": "120000.00",
    "currency": "cny",
    "entitlement_on_site_days": "6",
    "entitlement_support_hours": "40.5",
    "entitlement_custom_reports": "",
    "entitlement_training_sessions": "",
}


def _post(client, path, data, token_from, **extra):
    token = client.csrf_token(token_from)
    return client.post(path, data={"csrf_token": token, **data}, headers=EN, **extra)


def _draft(client, account, **changes):
    page = f"/admin/accounts/{account.id}/contracts/new"
    return _post(client, f"/admin/accounts/{account.id}/contracts", {**TERMS, **changes}, page)


def test_bad_terms_are_refused_all_at_once_and_nothing_is_written(client, login_as):
    login_as("admin")
    account = make_account()
    make_contract(account, number="ACME-2027-01")
    before = db.session.scalar(select(func.count(Contract.id)))
    response = _draft(
        client,
        account,
        end_date="2026-12-31",
        amount="-5",
        currency="yu",
        title="",
        start_date="not a day",
        entitlement_on_site_days="0",
        entitlement_custom_reports="100000000",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Another contract has this number.",
        "Give the contract a title.",
        "Not a valid date value.",
        "An amount such as 120000.00, not below nothing.",
        "A three-letter currency code such as CNY.",
        "A number above nothing (up to two decimals), or leave it empty.",
    ):
        assert message in page, message
    assert page.count("A number above nothing") == 2
    assert db.session.scalar(select(func.count(Contract.id))) == before


def test_a_draft_is_signed_off_once_its_signed_copy_is_on_file(app, client, login_as):
    login_as("admin")
    account = make_account()
    customer = make_user("customer_admin", account=account)
    response = _draft(client, account)
    contract = db.session.scalar(select(Contract).where(Contract.number == "ACME-2027-01"))
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/admin/contracts/{contract.id}"
    )
    assert (contract.state, contract.currency, contract.amount) == ("draft", "CNY", Decimal("120000.00"))
    assert {e.kind: e.quantity for e in contract.entitlements} == {
        "on_site_days": Decimal("6"),
        "support_hours": Decimal("40.5"),
    }
    page = f"/admin/contracts/{contract.id}"
    refused = _post(client, f"{page}/sign-off", {}, page, follow_redirects=True)
    assert "Upload the signed copy first" in refused.get_data(as_text=True)
    assert db.session.get(Contract, contract.id).state == "draft"
    # The customer never sees the draft.
    other = app.test_client()
    other.__class__ = type(client)
    from tests.conftest import sign_in

    sign_in(other, customer.email)
    assert "ACME-2027-01" not in other.get("/my/contracts").get_data(as_text=True)
    assert other.get(f"/my/contracts/{contract.id}").status_code == 404
    # A text file is no signed copy; two PDFs are two copies, the latest the contract's document.
    wrong = _post(client, f"{page}/copies", {"file": (BytesIO(b"hello"), "signed.txt")}, page)
    assert wrong.status_code == 422 and "The signed contract must be a PDF file." in wrong.get_data(
        as_text=True
    )
    for name in ("first.pdf", "second.pdf"):
        assert _post(client, f"{page}/copies", {"file": (BytesIO(PDF), name)}, page).status_code == 303
    copies = db.session.scalars(select(Attachment).where(Attachment.contract_id == contract.id)).all()
    assert sorted(c.original_name for c in copies) == ["first.pdf", "second.pdf"]
    db.session.expire_all()
    latest = db.session.get(Contract, contract.id)
    assert db.session.get(Attachment, latest.signed_document_id).original_name == "second.pdf"
    earlier = next(c for c in copies if c.original_name == "first.pdf")
    download = client.get(f"{page}/copies/{earlier.id}")
    assert (
        download.status_code == 200
        and download.data == PDF
        and "attachment" in download.headers["Content-Disposition"]
    )
    assert _post(client, f"{page}/sign-off", {}, page).status_code == 303
    assert db.session.get(Contract, contract.id).state == "signed"
    assert "ACME-2027-01" in other.get("/my/contracts").get_data(as_text=True)


def test_a_signed_contract_is_renewed_with_the_same_entitlements(client, login_as):
    login_as("finance")
    account = make_account()
    contract = make_contract(
        account, number="HX-2026-009", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
    )
    page = f"/admin/contracts/{contract.id}"
    response = _post(client, f"{page}/renewal", {}, page)
    renewal = db.session.scalar(select(Contract).where(Contract.renews_id == contract.id))
    assert response.headers["Location"].endswith(f"/admin/contracts/{renewal.id}")
    assert (renewal.number, renewal.state) == ("HX-2026-009-R1", "draft")
    assert (renewal.start_date, renewal.end_date) == (date(2027, 1, 1), date(2027, 12, 31))
    assert {(e.kind, e.quantity) for e in renewal.entitlements} == {
        (e.kind, e.quantity) for e in contract.entitlements
    }
    # Edited while a draft; a signed contract is not edited.
    edited = _post(
        client,
        f"/admin/contracts/{renewal.id}",
        {**TERMS, "number": renewal.number, "entitlement_on_site_days": "9"},
        f"/admin/contracts/{renewal.id}",
    )
    assert edited.status_code == 303
    db.session.expire_all()
    assert {e.kind: e.quantity for e in db.session.get(Contract, renewal.id).entitlements}[
        "on_site_days"
    ] == 9
    refused = _post(client, page, {**TERMS, "number": contract.number}, page, follow_redirects=True)
    assert "Only a draft can be edited" in refused.get_data(as_text=True)
    assert db.session.get(Contract, contract.id).title != TERMS["title"]


def test_ending_early_releases_the_open_requests(client, login_as):
    admin = login_as("admin")
    account = make_account()
    today = date.today()
    contract = make_contract(
        account, start_date=today - timedelta(days=100), end_date=today + timedelta(days=200)
    )
    customer = make_user("customer", account=account)
    held = make_request(customer, contract_id=contract.id, status="open")
    done = make_request(customer, contract_id=contract.id, status="closed")
    page = f"/admin/contracts/{contract.id}"
    refused = _post(
        client, f"{page}/termination", {"on": (today + timedelta(days=400)).isoformat(), "reason": ""}, page
    )
    body = refused.get_data(as_text=True)
    assert (
        refused.status_code == 422
        and "A day within the contract" in body
        and "Say why the contract ends early." in body
    )
    response = _post(
        client, f"{page}/termination", {"on": today.isoformat(), "reason": "Merged into group contract"}, page
    )
    assert response.status_code == 303
    db.session.expire_all()
    ended = db.session.get(Contract, contract.id)
    assert (ended.state, ended.terminated_on, ended.terminated_reason) == (
        "terminated",
        today,
        "Merged into group contract",
    )
    assert db.session.get(ServiceRequest, held.id).contract_id is None
    assert db.session.get(ServiceRequest, done.id).contract_id == contract.id
    note = db.session.scalar(
        select(TimelineEvent).where(TimelineEvent.request_id == held.id, TimelineEvent.internal)
    )
    assert contract.number in note.body and note.actor_id == admin.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.terminated"))
    assert event.detail["released"] == 1


def test_the_account_manager_drafts_for_their_accounts_only(client, login_as):
    manager = login_as("agent", departments=["sales"])
    theirs, other = make_account(account_manager=manager), make_account()
    assert client.get(f"/admin/accounts/{theirs.id}/contracts/new").status_code == 200
    assert client.get(f"/admin/accounts/{other.id}/contracts/new").status_code == 404
    assert _draft(client, theirs).status_code == 303
    foreign = make_contract(other)
    assert client.get(f"/admin/contracts/{foreign.id}").status_code == 404
    assert f"/admin/accounts/{theirs.id}/contracts/new" in client.get(
        f"/staff/accounts/{theirs.id}"
    ).get_data(as_text=True)


def test_an_entitlement_is_counted_each_contract_year_when_ticked(client, login_as):
    login_as("admin")
    account = make_account()
    today = date.today()
    response = _draft(
        client,
        account,
        start_date=(today - timedelta(days=400)).isoformat(),
        end_date=(today + timedelta(days=700)).isoformat(),
        per_year="on_site_days",
    )
    contract = db.session.scalar(select(Contract).where(Contract.number == "ACME-2027-01"))
    assert response.status_code == 303
    assert {e.kind: e.period for e in contract.entitlements} == {
        "on_site_days": "year",
        "support_hours": "contract",
    }
    contract.state = "signed"
    db.session.commit()
    page = client.get(f"/admin/contracts/{contract.id}", headers=EN).get_data(as_text=True)
    assert "this contract year:" in page and "6 days a year" in page
    renewal = _post(client, f"/admin/contracts/{contract.id}/renewal", {}, f"/admin/contracts/{contract.id}")
    renewed = db.session.scalar(select(Contract).where(Contract.renews_id == contract.id))
    assert (
        renewal.status_code == 303
        and {e.kind: e.period for e in renewed.entitlements}["on_site_days"] == "year"
    )
