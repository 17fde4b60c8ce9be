"""The customer's lists: requests (filters, search, pages, fragment), contracts with their ledgers, the
dashboard's "waiting for you", expiring contracts, entitlement bars and latest reports."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from portal.extensions import db
from portal.uploads import file_store
from tests.factories import make_contract, make_request, make_user


def test_the_request_list_as_page_and_fragment_with_filters_and_pages(client, login_as):
    me = login_as("customer_admin")
    contract = make_contract(me.account)
    made = [
        make_request(
            me, title=f"Case {i:02d}", created_at=datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=i)
        )
        for i in range(25)
    ]
    on_contract = make_request(me, title="Booked", contract_id=contract.id, status="closed")
    foreign = make_request(make_user("customer"), title="Not ours")
    page = client.get("/my/requests", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<html" in page and on_contract.reference in page and foreign.reference not in page
    assert made[0].reference not in page  # newest first: the oldest is on page 2
    next_url = re.search(r'href="(/my/requests\?[^"]*after=[^"]+)"', page).group(1).replace("&amp;", "&")
    second = client.htmx_get(next_url).get_data(as_text=True)
    assert "<html" not in second and made[0].reference in second
    assert on_contract.reference in client.get(f"/my/requests?contract={contract.id}").get_data(as_text=True)
    open_only = client.get("/my/requests?status=open").get_data(as_text=True)
    assert on_contract.reference not in open_only and made[24].reference in open_only
    found = client.get("/my/requests?q=case+07").get_data(as_text=True)
    assert made[7].reference in found and made[8].reference not in found
    dated = client.get("/my/requests?submitted_from=2026-05-03&submitted_to=2026-05-04").get_data(
        as_text=True
    )
    assert made[2].reference in dated and made[3].reference in dated and made[4].reference not in dated
    bad_date = client.get("/my/requests?submitted_from=not-a-date")
    assert bad_date.status_code == 200


def test_the_contracts_page_shows_each_ledger(client, login_as):
    me = login_as("customer")
    make_contract(me.account, number="C-ONE", entitlements={"on_site_days": 5})
    make_contract(me.account, number="C-TWO", entitlements={"custom_reports": 2})
    make_contract(make_user("customer").account, number="C-THEIRS")
    page = client.get("/my/contracts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "C-ONE" in page and "C-TWO" in page and "C-THEIRS" not in page
    assert page.count('class="ledger"') == 2 and "Custom reports" in page


def test_the_dashboard_shows_what_waits_for_the_customer(client, login_as):
    me = login_as("customer_admin")
    make_contract(
        me.account,
        number="C-ENDING",
        start_date=date.today() - timedelta(days=300),
        end_date=date.today() + timedelta(days=20),
    )
    waiting = make_request(me, status="waiting_customer", title="Send logs")
    approval = make_request(me, approval="pending", over_entitlement=True, title="Extra visit")
    make_request(me, status="in_progress", title="Quiet")
    page = client.get("/my/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    needs = page[page.index("needs-title") : page.index("open-title")]
    assert waiting.reference in needs and approval.reference in needs and "Quiet" not in needs
    assert "Contract C-ENDING ends on" in page


def test_the_dashboard_shows_entitlement_bars_and_the_latest_reports(client, login_as, app):

    from sqlalchemy import select

    from portal.demo.company import _tiny_pdf
    from portal.extensions import db
    from portal.models import Deliverable
    from portal.services.requests import attachments

    me = login_as("customer")
    contract = make_contract(me.account, entitlements={"on_site_days": 4})
    make_request(me, category="on_site", subtype="installation", contract_id=contract.id, status="resolved")
    report = make_request(me, category="value_added", subtype="market_analysis", status="resolved")
    (file,) = attachments.attach_to_request(
        report,
        [attachments.Upload("q3.pdf", _tiny_pdf("q3"))],
        me,
        files=file_store(),
        max_bytes=10**6,
    )
    db.session.add(Deliverable(request_id=report.id, attachment_id=file.id, title="Q3 market analysis"))
    colleague = make_user("customer", account=me.account)
    private = make_request(
        colleague, category="value_added", subtype="custom_report", shared_with_account=False
    )
    (theirs,) = attachments.attach_to_request(
        private,
        [attachments.Upload("private.pdf", _tiny_pdf("private"))],
        colleague,
        files=file_store(),
        max_bytes=10**6,
    )
    db.session.add(Deliverable(request_id=private.id, attachment_id=theirs.id, title="A colleague's report"))
    db.session.commit()
    page = client.get("/my/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "On-site days: 3 days left of 4" in page
    assert re.search(r'<meter[^>]*value="1', page)
    reports = page[page.index("reports-title") :]
    delivered = db.session.scalar(select(Deliverable).where(Deliverable.attachment_id == file.id))
    assert "Q3 market analysis" in reports and f'href="/my/reports/{delivered.id}/download"' in reports
    assert "A colleague" not in reports
    assert client.get(f"/my/attachments/{file.id}").data == _tiny_pdf("q3")


def test_an_exhausted_entitlement_says_what_happened(client, login_as):
    """Used 6 of 4 days: "0 left · 2 days over the contract" — never "Remaining −2" or a day in the past."""
    me = login_as("customer")
    contract = make_contract(me.account, entitlements={"on_site_days": 4})
    for days in ("3", "3"):
        make_request(
            me,
            category="on_site",
            subtype="installation",
            contract=contract,
            visit_days=Decimal(days),
            status="closed",
        )
    for path in ("/my/", f"/my/contracts/{contract.id}"):
        page = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "0 left · 2 days over the contract" in page or "2 days over the contract" in page, path
        assert not re.search(r">\s*[−-]2\b", page) and "Remaining" not in page, path
    detail = client.get(f"/my/contracts/{contract.id}", headers={"Accept-Language": "en"})
    detail = detail.get_data(as_text=True)
    assert "Used up" in detail and "Lasts the term" not in detail
    chinese = client.get("/my/").get_data(as_text=True)
    assert "剩余 0 · 超出合同 2 天" in chinese


def test_one_of_a_unit_is_singular(client, login_as):
    me = login_as("customer")
    make_contract(me.account, entitlements={"on_site_days": 1})
    page = client.get("/my/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "On-site days: 1 day left of 1" in page and "1 days" not in page


def test_the_customer_and_staff_see_every_detail_the_customer_gave(client, login_as):
    me = login_as("customer")
    request = make_request(
        me,
        category="on_site",
        subtype="installation",
        site_address="No. 8 Finance Street",
        site_contact_name="Wang Lei",
        site_contact_phone="13800000000",
        preferred_date_from=date(2099, 3, 2),
        preferred_date_to=date(2099, 3, 4),
        visit_days=Decimal("2.5"),
    )
    page = client.get(f"/my/requests/{request.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for shown in ("No. 8 Finance Street", "Wang Lei", "13800000000", "Preferred dates", "2.5 days"):
        assert shown in page, shown
    from portal.models import ServiceRequest
    from tests.factories import department

    db.session.get(ServiceRequest, request.id).department_id = department("delivery").id
    db.session.commit()
    login_as("agent", departments=["delivery"])
    page = client.get(f"/staff/requests/{request.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    for shown in ("No. 8 Finance Street", "Wang Lei", "13800000000", "Days on site", "2.5 days"):
        assert shown in page, shown
