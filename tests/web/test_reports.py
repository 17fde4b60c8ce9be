"""Value-added reports: staff publish (only real report files, only on value-added requests), the requester
is told, the contract's report entitlement counts it, and the account's library lists, searches, filters
and serves them (audited) — never to another account."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from portal.demo.company import _tiny_pdf
from portal.extensions import db
from portal.models import AuditEvent, Deliverable, Notification, ServiceRequest
from portal.services.contracts import entitlements
from portal.services.engagement import reports
from portal.services.errors import InvalidInput
from portal.services.reference_data import ensure_reference_data
from portal.services.requests.attachments import Upload
from portal.services.requests.workflow import NotAllowed
from portal.uploads import file_store
from tests.factories import make_contract, make_request, make_user, stored_files


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


@pytest.fixture
def report_request():
    marketing = make_user("agent", departments=["marketing"], full_name="Marketing Ma")
    customer = make_user("customer", full_name="Zhao")
    contract = make_contract(customer.account, entitlements={"custom_reports": 4})
    request = make_request(
        customer,
        category="value_added",
        subtype="market_analysis",
        title="EV charging market",
        topic="Charging stations in East China",
        status="in_progress",
        contract_id=contract.id,
        department_id=marketing.departments[0].id,
        assignee_id=marketing.id,
    )
    return request, marketing, customer, contract


def _publish(request, staff, title="East China charging 2026", name="analysis.pdf", data=None):
    return reports.publish(
        request,
        staff,
        title=title,
        summary="Growth by province",
        upload=Upload(name, data if data is not None else _tiny_pdf("analysis")),
        files=file_store(),
        max_bytes=10**6,
    )


def test_publishing_tells_the_requester_and_counts_against_the_contract(report_request):
    request, marketing, customer, contract = report_request
    before = {line.entitlement.kind: line for line in entitlements.contract_ledger(contract, date.today())}
    assert (before["custom_reports"].used, before["custom_reports"].reserved) == (0, 1)
    deliverable = _publish(request, marketing)
    assert deliverable.title == "East China charging 2026"
    notice = db.session.scalar(
        select(Notification).where(
            Notification.user_id == customer.id, Notification.kind == "report_published"
        )
    )
    assert notice is not None and notice.data["report"] == "East China charging 2026"
    after = {line.entitlement.kind: line for line in entitlements.contract_ledger(contract, date.today())}
    assert (after["custom_reports"].used, after["custom_reports"].reserved) == (1, 0)
    _publish(request, marketing, title="Appendix")  # a second file of the same report request
    again = {line.entitlement.kind: line for line in entitlements.contract_ledger(contract, date.today())}
    assert (again["custom_reports"].used, again["custom_reports"].reserved) == (1, 0)


@pytest.mark.parametrize(
    "name, data",
    [
        ("report.txt", b"plain text"),
        ("report.pdf", b"<html><script>alert(1)</script>"),
        ("chart.png", b"\x89PNG\r\n\x1a\n0000"),
    ],
)
def test_only_report_files_are_published_and_nothing_is_kept_otherwise(report_request, name, data):
    request, marketing, *_ = report_request
    before = stored_files()
    with pytest.raises(InvalidInput):
        _publish(request, marketing, name=name, data=data)
    db.session.rollback()
    assert db.session.scalar(select(Deliverable)) is None
    assert stored_files() == before


def test_not_on_other_requests_nor_by_other_departments(report_request):
    request, marketing, customer, _ = report_request
    other = make_request(
        customer, category="after_sale", subtype="troubleshooting", department_id=marketing.departments[0].id
    )
    with pytest.raises(InvalidInput):
        _publish(other, marketing)
    with pytest.raises(NotAllowed):
        _publish(request, make_user("agent", departments=["delivery"]))


def test_the_library_searches_filters_and_downloads_with_an_audit(client, login_as, report_request):
    request, marketing, customer, _ = report_request
    deliverable = _publish(request, marketing)
    news = make_request(
        customer,
        category="value_added",
        subtype="industry_news",
        title="Banking news",
        status="in_progress",
        department_id=marketing.departments[0].id,
    )
    _publish(news, marketing, title="Weekly banking digest")
    login_as(customer)
    page = client.get("/my/reports", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "East China charging 2026" in page and "Weekly banking digest" in page and "2 reports" in page
    fragment = client.htmx_get("/my/reports?q=east+china").get_data(as_text=True)
    assert "<html" not in fragment and "East China charging" in fragment and "banking digest" not in fragment
    by_topic = client.htmx_get("/my/reports?q=charging+stations").get_data(as_text=True)
    assert "East China charging" in by_topic  # the request's topic is searched too
    by_kind = client.get("/my/reports?kind=industry_news").get_data(as_text=True)
    assert "Weekly banking digest" in by_kind and "East China charging" not in by_kind
    assert "East China" not in client.get("/my/reports?published_to=2000-01-01").get_data(as_text=True)
    bad_date = client.get("/my/reports?published_from=not-a-date").get_data(as_text=True)
    assert "East China charging" in bad_date  # a bad date is left out, the rest still works
    response = client.get(f"/my/reports/{deliverable.id}/download")
    assert response.status_code == 200 and response.data == _tiny_pdf("analysis")
    assert response.headers["Content-Disposition"].startswith("attachment")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.downloaded"))
    assert event.actor_id == customer.id and event.object_id == str(deliverable.id)


def test_another_accounts_reports_are_neither_listed_nor_served(client, login_as, report_request):
    request, marketing, *_ = report_request
    deliverable = _publish(request, marketing)
    login_as("customer_admin")
    assert "East China" not in client.get("/my/reports").get_data(as_text=True)
    assert client.get(f"/my/reports/{deliverable.id}/download").status_code == 404
    assert client.get(f"/my/attachments/{deliverable.attachment_id}").status_code == 404


def test_staff_publish_from_the_workspace(client, login_as, report_request):
    request, marketing, customer, _ = report_request
    login_as(marketing)
    page = f"/staff/requests/{request.id}"
    assert "Publish report" in client.get(page, headers={"Accept-Language": "en"}).get_data(as_text=True)
    token = client.csrf_token(page)
    refused = client.post(
        f"{page}/deliverables",
        data={
            "csrf_token": token,
            "title": "Fake",
            "file": (io.BytesIO(b"<svg onload=alert(1)>"), "fake.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and db.session.scalar(select(Deliverable)) is None
    response = client.post(
        f"{page}/deliverables",
        data={
            "csrf_token": token,
            "title": "Q4 outlook",
            "summary": "",
            "file": (io.BytesIO(_tiny_pdf("q4")), "q4.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert db.session.scalar(select(Deliverable.title)) == "Q4 outlook"
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "in_progress"
