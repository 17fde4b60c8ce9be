"""Filing a request from the customer portal: catalogue, form rules, preview, files, over-entitlement."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Attachment, ServiceRequest
from portal.services.reference_data import ensure_reference_data
from tests.factories import make_contract, make_request, make_user

FAR = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _on_site_form(token: str, contract_id: int | str = "", **extra) -> dict:
    data = {
        "csrf_token": token,
        "title": "Install terminals",
        "description": "Ten branch terminals.",
        "priority": "high",
        "contract": str(contract_id),
        "site_address": "No. 1 Test Road",
        "site_contact_name": "Mr Wang",
        "site_contact_phone": "13800000000",
        "preferred_date_from": FAR,
        "visit_days": "2",
    }
    data.update(extra)
    return data


def test_the_catalogue_lists_every_service(client, login_as):
    login_as("customer")
    page = client.get("/my/new", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page.count('href="/my/new/') == 15 and "Troubleshooting" in page and "Market analysis" in page
    assert client.get("/my/new/on_site/warranty").status_code == 404


def test_filing_an_on_site_request_with_a_file(client, login_as):
    me = login_as("customer")
    contract = make_contract(me.account, entitlements={"on_site_days": 10})
    token = client.csrf_token("/my/new/on_site/installation")
    data = _on_site_form(
        token, contract.id, account_id="999", status="closed", department_id="1", requester_id="1"
    )  # fields a customer may not set are ignored
    data["files"] = [(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "floor-plan.pdf")]
    response = client.post(
        "/my/new/on_site/installation",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 303
    filed = db.session.scalar(select(ServiceRequest))
    assert (filed.account_id, filed.requester_id, filed.status) == (me.account_id, me.id, "submitted")
    assert (filed.department.code, filed.contract_id, filed.visit_days) == (
        "delivery",
        contract.id,
        Decimal(2),
    )
    assert filed.over_entitlement is False and filed.approval == "not_needed"
    assert db.session.scalar(select(Attachment.original_name)) == "floor-plan.pdf"
    detail = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert filed.reference in detail and "is submitted" in detail


def test_bad_input_is_explained_in_place_and_nothing_is_saved(client, login_as):
    me = login_as("customer")
    contract = make_contract(me.account)
    foreign = make_contract(make_user("customer").account)
    token = client.csrf_token("/my/new/on_site/installation")
    cases = [
        (_on_site_form(token, contract.id, site_address=""), "This is needed"),
        (
            _on_site_form(token, contract.id, preferred_date_from=date.today().isoformat()),
            "at least one business day",
        ),
        (_on_site_form(token, foreign.id), "running contracts"),
        (_on_site_form(token, contract.id, title=""), "Give the request a title."),
    ]
    for data, message in cases:
        response = client.post("/my/new/on_site/installation", data=data, headers={"Accept-Language": "en"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page, message
        assert (
            'value="Ten branch terminals.' in page or "Ten branch terminals." in page
        )  # what was typed stays
    bad_file = _on_site_form(token, contract.id)
    bad_file["files"] = [(io.BytesIO(b"<html><script>x</script>"), "plan.pdf")]
    response = client.post(
        "/my/new/on_site/installation",
        data=bad_file,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422 and "do not match" in response.get_data(as_text=True)
    assert db.session.scalar(select(ServiceRequest)) is None and db.session.scalar(select(Attachment)) is None


def test_every_problem_of_the_on_site_form_is_told_at_once(client, login_as):
    """The on-site form once revealed its errors over six submits, dropping the chosen files each time."""
    me = login_as("customer")
    contract = make_contract(me.account)
    token = client.csrf_token("/my/new/on_site/installation")
    data = _on_site_form(
        token,
        contract.id,
        title="",
        site_address="",
        site_contact_name="",
        site_contact_phone="",
        preferred_date_from=date.today().isoformat(),
        preferred_date_to=(date.today() - timedelta(days=3)).isoformat(),
    )
    data["files"] = [(io.BytesIO(b"MZ"), "tool.exe")]
    response = client.post(
        "/my/new/on_site/installation",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = re.findall(r'<p class="error" id="([a-z_]+)-error">', page)
    assert set(errors) == {
        "title",
        "site_address",
        "site_contact_name",
        "site_contact_phone",
        "preferred_date_from",
        "preferred_date_to",
        "files",
    }
    assert page.count("This is needed for this service.") == 3
    assert db.session.scalar(select(ServiceRequest)) is None


def test_required_fields_are_marked(client, login_as):
    login_as("customer")
    page = client.get("/my/new/on_site/installation").get_data(as_text=True)
    for name in ("title", "site_address", "site_contact_name", "site_contact_phone", "preferred_date_from"):
        assert f'<label for="{name}" class="required">' in page, name
        tag = re.search(rf'<(?:input|textarea)[^>]*id="{name}"[^>]*>', page).group(0)
        assert " required" in tag, name
    assert '<label for="preferred_date_to">' in page


def test_the_preview_says_what_the_request_uses(client, login_as):
    me = login_as("customer")
    contract = make_contract(me.account, entitlements={"on_site_days": 4})
    make_request(
        me,
        category="on_site",
        subtype="installation",
        status="closed",
        visit_days=Decimal(3),
        contract_id=contract.id,
    )
    ok = client.htmx_get(
        f"/my/new/on_site/installation/preview?contract={contract.id}&visit_days=1",
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "<html" not in ok and "uses 1 day of On-site days (1 day left)" in ok
    over = client.htmx_get(
        f"/my/new/on_site/installation/preview?contract={contract.id}&visit_days=2",
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "must approve" in over


def test_over_entitlement_waits_for_the_account_administrator(client, app, login_as):
    from tests.conftest import sign_in

    me = login_as("customer")
    admin = make_user("customer_admin", account=me.account)
    contract = make_contract(me.account, entitlements={"on_site_days": 1})
    token = client.csrf_token("/my/new/on_site/installation")
    client.post("/my/new/on_site/installation", data=_on_site_form(token, contract.id, visit_days="3"))
    filed = db.session.scalar(select(ServiceRequest))
    assert (filed.over_entitlement, filed.approval) == (True, "pending")
    # Staff cannot schedule it yet.
    from portal.services.requests import workflow

    engineer = make_user("agent", departments=["delivery"])
    with pytest.raises(workflow.NotAllowed):
        workflow.schedule_visit(
            filed,
            engineer,
            visit_at=workflow.utcnow() + timedelta(days=5),
            engineer=engineer,
            duration_minutes=60,
            seen_version=None,
        )
    db.session.rollback()
    # The requester cannot approve it; the administrator can.
    assert (
        client.post(
            f"/my/requests/{filed.id}/approval", data={"csrf_token": token, "decision": "approve"}
        ).status_code
        == 403
    )
    other = app.test_client()
    other.__class__ = type(client)
    sign_in(other, admin.email)
    page = other.get(f"/my/requests/{filed.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Waiting for approval" in page and "Approve" in page
    admin_token = other.csrf_token(f"/my/requests/{filed.id}")
    other.post(f"/my/requests/{filed.id}/approval", data={"csrf_token": admin_token, "decision": "approve"})
    db.session.expire_all()
    assert db.session.get(ServiceRequest, filed.id).approval == "approved"


def test_declining_cancels(client, login_as):
    admin = login_as("customer_admin")
    requester = make_user("customer", account=admin.account)
    request = make_request(requester, over_entitlement=True, approval="pending", status="submitted")
    token = client.csrf_token(f"/my/requests/{request.id}")
    client.post(f"/my/requests/{request.id}/approval", data={"csrf_token": token, "decision": "decline"})
    db.session.expire_all()
    fresh = db.session.get(ServiceRequest, request.id)
    assert (fresh.approval, fresh.status) == ("declined", "cancelled")


def test_an_administrators_own_over_entitlement_request_is_approved(client, login_as):
    admin = login_as("customer_admin")
    contract = make_contract(admin.account, entitlements={"support_hours": 10})
    form = {
        "csrf_token": client.csrf_token("/my/new/value_added/custom_report"),
        "title": "Quarterly report",
        "description": "Q3 figures",
        "priority": "normal",
        "contract": str(contract.id),
        "topic": "Operations",
        "wanted_by": FAR,
    }
    response = client.post("/my/new/value_added/custom_report", data=form, headers={"Accept-Language": "en"})
    # Beyond the contract, the administrator's own request goes ahead only once they confirm how far.
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "I approve going 1 report over the contract." in page
    assert "Confirm going over the contract" in page
    assert db.session.scalar(select(ServiceRequest)) is None
    response = client.post("/my/new/value_added/custom_report", data={**form, "confirm_overage": "y"})
    assert response.status_code == 303
    filed = db.session.scalar(select(ServiceRequest))
    assert (filed.over_entitlement, filed.approval, filed.department.code) == (True, "approved", "marketing")


@pytest.mark.parametrize("path", ["/my/new", "/my/new/on_site/installation"])
def test_staff_do_not_file_customer_requests(client, login_as, path):
    login_as("agent", departments=["sales"])
    assert client.get(path).status_code == 403


def test_a_customer_replies_with_a_file_confirms_and_downloads(client, login_as):
    from portal.models import TimelineEvent

    me = login_as("customer")
    request = make_request(me, status="waiting_customer", sla_paused_since=workflow_now())
    token = client.csrf_token(f"/my/requests/{request.id}")
    response = client.post(
        f"/my/requests/{request.id}/reply",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "body": "Logs attached.",
            "files": [(io.BytesIO(b"error at 02:00\n"), "batch\t\u202egol.log")],
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "in_progress"  # the reply resumed the work
    page = client.get(f"/my/requests/{request.id}").get_data(as_text=True)
    attachment = db.session.scalar(select(Attachment))
    assert f'href="/my/attachments/{attachment.id}"' in page
    download = client.get(f"/my/attachments/{attachment.id}")
    assert download.data == b"error at 02:00\n" and download.headers["Content-Disposition"].startswith(
        "attachment"
    )
    # The name lost its tab and its right-to-left override, stored and sent.
    assert attachment.original_name == "batchgol.log"
    assert "batchgol.log" in download.headers["Content-Disposition"]
    # An internally attached file of the same request stays hidden.
    hidden = Attachment(
        request_id=request.id,
        account_id=me.account_id,
        original_name="x.txt",
        stored_name="f" * 32,
        size_bytes=1,
        sha256="0" * 64,
        content_type="text/plain",
    )
    db.session.add(hidden)
    db.session.flush()
    db.session.add(
        TimelineEvent(
            request_id=request.id,
            kind="attachment",
            internal=True,
            body="x.txt",
            data={"attachment_id": hidden.id},
        )
    )
    db.session.commit()
    assert client.get(f"/my/attachments/{hidden.id}").status_code == 404
    # Resolved: the customer confirms and closes.
    fresh = db.session.get(ServiceRequest, request.id)
    fresh.status, fresh.resolved_at = "resolved", workflow_now()
    db.session.commit()
    client.post(f"/my/requests/{request.id}/status", data={"csrf_token": token, "action": "close"})
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "closed"


def test_a_customer_cannot_take_staff_actions(client, login_as):
    me = login_as("customer")
    request = make_request(me, status="open")
    token = client.csrf_token(f"/my/requests/{request.id}")
    client.post(f"/my/requests/{request.id}/status", data={"csrf_token": token, "action": "resolve"})
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "open"
    client.post(f"/my/requests/{request.id}/status", data={"csrf_token": token, "action": "cancel"})
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "cancelled"


def workflow_now():
    from portal.models.base import utcnow

    return utcnow()


def test_an_over_size_file_is_refused_in_place_keeping_the_reply(client, app, login_as):
    me = login_as("customer")
    request = make_request(me, status="in_progress")
    token = client.csrf_token(f"/my/requests/{request.id}")
    limit = app.config["UPLOAD_MAX_BYTES"]
    app.config["UPLOAD_MAX_BYTES"] = 1000
    try:
        response = client.post(
            f"/my/requests/{request.id}/reply",
            content_type="multipart/form-data",
            data={
                "csrf_token": token,
                "body": "The full log, as asked.",
                "files": [(io.BytesIO(b"line\n" * 400), "full.log")],
            },
            headers={"Accept-Language": "en"},
        )
    finally:
        app.config["UPLOAD_MAX_BYTES"] = limit
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="files-error">The file is larger than', page)
    assert "The full log, as asked." in page  # what was typed stays
    assert db.session.scalar(select(Attachment)) is None
    # The request as a whole may carry several files of the largest size, so such a file reaches the form.
    assert app.config["MAX_CONTENT_LENGTH"] > app.config["UPLOAD_MAX_BYTES"] * app.config["UPLOAD_MAX_FILES"]
