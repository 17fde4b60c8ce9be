"""A customer of one account probes every customer URL that takes an object id with another account's ids
(requests, contracts, their documents, attachments, reports, users): always 404, none of their data, and
nothing changes. The URL list comes from the app's own routes, so a new customer URL is in the matrix."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.demo.company import _tiny_pdf
from portal.extensions import db
from portal.models import Deliverable, Proposal, ServiceRequest, SurveyInvitation, User
from portal.models.base import utcnow
from portal.services.contracts import contracts
from portal.services.engagement import surveys
from portal.services.pipeline import proposals
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import attachments
from portal.services.requests.attachments import Upload
from portal.services.storage import FileStore
from portal.uploads import file_store
from tests.factories import make_contract, make_request, make_user


def _customer_rules(app):
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("customer.") and rule.arguments
        ),
        key=lambda rule: rule.rule,
    )


def _world(admin: User, files: FileStore, title: str) -> dict:
    """One account's objects, each kind that a customer URL can name."""
    colleague = make_user("customer", account=admin.account)
    request = make_request(admin, title=title, status="open")
    contract = make_contract(admin.account)
    contracts.attach_signed_document(
        contract, Upload("signed.pdf", _tiny_pdf("signed")), admin, files=files, max_bytes=10**6
    )
    (file,) = attachments.attach_to_request(
        request, [Upload("log.txt", b"a log")], admin, files=files, max_bytes=10**6
    )
    report_request = make_request(admin, category="value_added", subtype="custom_report", status="resolved")
    (report_file,) = attachments.attach_to_request(
        report_request, [Upload("report.pdf", _tiny_pdf("report"))], admin, files=files, max_bytes=10**6
    )
    deliverable = Deliverable(request_id=report_request.id, attachment_id=report_file.id, title=title)
    db.session.add(deliverable)
    invitation = surveys._new_invitation(
        surveys.active_template("relationship"), admin, utcnow(), period="2026Q4"
    )
    db.session.add(invitation)
    db.session.commit()
    drafter, today = make_user("admin"), date.today()
    proposal = proposals.create(
        drafter,
        proposals.ProposalTerms(
            title=title,
            language="zh",
            tier="key",
            currency="CNY",
            discount_percent="0",
            valid_until=today + timedelta(days=30),
            start_date=today + timedelta(days=40),
            end_date=today + timedelta(days=400),
            quantities={"support_hours": "10"},
            prices={"support_hours": "100"},
        ),
        today,
        account=admin.account,
    )
    proposals.send(drafter, proposal, today)
    return {
        "proposal_id": proposal.id,
        "request_id": request.id,
        "contract_id": contract.id,
        "attachment_id": file.id,
        "report_attachment_id": report_file.id,
        "user_id": colleague.id,
        "invitation_id": invitation.id,
        "deliverable_id": deliverable.id,
        "reference": request.reference,
    }


@pytest.fixture
def two_accounts(app, login_as):
    ensure_reference_data()
    theirs = _world(make_user("customer_admin"), file_store(), "Their secret request")
    me = make_user("customer_admin")
    mine = _world(me, file_store(), "My own request")
    login_as(me)
    return me, mine, theirs


def test_the_matrix_covers_every_kind_of_id(app):
    names = {name for rule in _customer_rules(app) for name in rule.arguments if name.endswith("_id")}
    assert names == {
        "request_id",
        "contract_id",
        "attachment_id",
        "user_id",
        "invitation_id",
        "deliverable_id",
        "proposal_id",
    }


@pytest.mark.parametrize("foreign_file", ["attachment_id", "report_attachment_id"])
def test_every_customer_url_with_a_foreign_id_answers_404(app, client, two_accounts, foreign_file):
    me, mine, theirs = two_accounts
    token = client.csrf_token("/my/")
    before = db.session.get(ServiceRequest, theirs["request_id"])
    status_before, version_before = before.status, before.version
    probed = 0
    for rule in _customer_rules(app):
        if not any(name.endswith("_id") for name in rule.arguments):
            continue
        ids = {**theirs, "attachment_id": theirs[foreign_file]}
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(ids[name]))
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {
                "csrf_token": token,
                "body": "x",
                "action": "cancel",
                "decision": "approve",
                "role": "customer",
                "answer": "accepted",
            }
            response = client.get(path) if method == "GET" else client.post(path, data=data)
            page = response.get_data(as_text=True)
            assert response.status_code == 404, (method, path)
            assert theirs["reference"] not in page and "Their secret request" not in page, path
            probed += 1
    assert probed >= 9
    db.session.expire_all()
    after = db.session.get(ServiceRequest, theirs["request_id"])
    assert (after.status, after.version) == (status_before, version_before)
    assert db.session.get(User, theirs["user_id"]).active
    assert db.session.get(SurveyInvitation, theirs["invitation_id"]).answered_at is None
    assert db.session.get(Proposal, theirs["proposal_id"]).state == "sent"


def test_the_same_urls_with_own_ids_do_not_answer_404(app, client, two_accounts):
    """The control: the matrix is not 404 for everything."""
    me, mine, theirs = two_accounts
    for foreign_file in ("attachment_id", "report_attachment_id"):
        assert client.get(f"/my/attachments/{mine[foreign_file]}").status_code == 200
    for rule in _customer_rules(app):
        if "GET" not in rule.methods or not any(n.endswith("_id") for n in rule.arguments):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(mine[name]))
        assert client.get(path).status_code == 200, path
