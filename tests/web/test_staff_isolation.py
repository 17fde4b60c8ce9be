"""Every staff role against every staff URL, built from the app's own routes: a URL naming a request, an
account, a file or a follow-up answers 404 to whoever may not see it (permissions) — GET and POST alike,
and a refused POST changes nothing — and no staff page shows a request its viewer may not see."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal import permissions
from portal.extensions import db
from portal.models import Attachment, ContactLog, FollowUpTask, ServiceRequest, TimelineEvent
from portal.services.contracts import contracts
from portal.services.pipeline import proposals
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import attachments
from portal.services.requests.attachments import Upload
from portal.uploads import file_store
from tests.factories import department, make_account, make_contract, make_request, make_user

SECRET = "Vault-7 alarm log"
BLUEPRINTS = ("internal.", "manager.", "finance.", "admin.")
ID_NAMES = {"request_id", "account_id", "attachment_id", "task_id", "contract_id", "proposal_id"}
# Routes where an account's (or contract's) id answers by a stricter rule than seeing the account: drafting
# its contracts (permissions.can_draft_contract) — every route of the module, found by the view's module.
DRAFTING_MODULE = "portal.admin.contracts"
# Ids of objects that belong to no account: a role reaches all or none of them (the role matrices test it).
ROLE_GATED_IDS = {
    "rule_id": "routing rules (admin)",
    "department_id": "departments (admin)",
    "template_id": "survey templates (admin)",
    "exception_id": "calendar exceptions (admin)",
    "job_id": "the all-accounts ZIP jobs (finance)",
    "statement_id": "monthly statements (finance sees every account's)",
    "user_id": "people in the back office (admin)",
    "prospect_id": "prospects (marketing, sales, managers, admins: tests/web/test_prospects.py)",
    "mail_id": "mail that matched no account (leads, managers and admins: tests/web/test_unmatched_mail.py)",
}


def _rules(app, with_ids: bool):
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(BLUEPRINTS) and bool(rule.arguments) is with_ids
        ),
        key=lambda rule: rule.rule,
    )


@pytest.fixture
def world(app):
    ensure_reference_data()
    account_manager = make_user("agent", departments=["sales"], full_name="Sales Sun")
    account = make_account(account_manager=account_manager)
    customer = make_user("customer", account=account)
    request = make_request(customer, title=SECRET, department_id=department("after_sales").id)
    (file,) = attachments.attach_to_request(
        request,
        [Upload("log.txt", b"a log")],
        customer,
        files=file_store(),
        max_bytes=10**6,
    )
    task = FollowUpTask(account_id=account.id, owner_id=account_manager.id, reason="low_csat")
    db.session.add(task)
    db.session.commit()
    contract = make_contract(account)
    signed = contracts.attach_signed_document(
        contract,
        Upload("signed.pdf", b"%PDF-1.4\n%%EOF\n"),
        None,
        files=file_store(),
        max_bytes=10**6,
    )
    proposal = proposals.create(
        account_manager,
        proposals.ProposalTerms(
            title="Renewal 2027",
            language="zh",
            tier="key",
            currency="CNY",
            discount_percent="0",
            valid_until=date.today() + timedelta(days=30),
            start_date=contract.end_date + timedelta(days=1),
            end_date=contract.end_date + timedelta(days=365),
            quantities={"on_site_days": "5"},
            prices={"on_site_days": "1000"},
        ),
        date.today(),
        account=account,
    )
    viewers = {
        "agent of the request's department": make_user("agent", departments=["after_sales"]),
        "agent of technical support": make_user("agent", departments=["tech_support"]),
        "lead of the request's department": make_user("lead", departments=["after_sales"]),
        "lead of technical support": make_user("lead", departments=["tech_support"]),
        "sales lead": make_user("lead", departments=["sales"]),
        "the account manager": account_manager,
        "manager": make_user("manager"),
        "admin": make_user("admin"),
        "finance": make_user("finance"),
    }
    ids = {
        "request_id": request.id,
        "account_id": account.id,
        "attachment_id": file.id,
        "task_id": task.id,
        "user_id": customer.id,  # one of the account's people (the back office's account page)
        "contract_id": contract.id,
        "copy": signed.id,  # the contract's signed copy
        "proposal_id": proposal.id,
        "proposal": proposal,
    }
    return request, file, task, viewers, ids


def _may_see(viewer, name, request, file, task, drafting=False, proposal=None) -> bool:
    if name == "proposal_id":
        return permissions.can_view_proposal(viewer, proposal)
    if drafting and name in ("account_id", "contract_id"):
        return permissions.can_draft_contract(viewer, request.account)
    if name == "contract_id":
        return permissions.can_view_account(viewer, request.account)
    if name == "request_id":
        return permissions.can_view_request(viewer, request)
    if name == "attachment_id":
        return permissions.can_download_attachment(viewer, file, request, internal=False)
    if name == "account_id":
        return permissions.can_view_account(viewer, request.account)
    return permissions.can_view_follow_up(viewer, task)


def _footprint(request_id: int) -> tuple:
    return (
        db.session.scalar(select(ServiceRequest.version).where(ServiceRequest.id == request_id)),
        db.session.scalar(select(func.count(TimelineEvent.id))),
        db.session.scalar(select(func.count(ContactLog.id))),
        db.session.scalar(select(func.count(Attachment.id))),
        db.session.scalar(select(func.count(FollowUpTask.id)).where(FollowUpTask.done_at.is_not(None))),
    )


def test_the_matrix_names_every_kind_of_id(app):
    names = {name for rule in _rules(app, True) for name in rule.arguments if name.endswith("_id")}
    assert names <= ID_NAMES | set(ROLE_GATED_IDS), names - ID_NAMES - set(ROLE_GATED_IDS)
    assert {"request_id", "account_id", "attachment_id", "task_id"} <= names


@pytest.mark.parametrize(
    "relation",
    [
        "agent of the request's department",
        "agent of technical support",
        "lead of the request's department",
        "lead of technical support",
        "sales lead",
        "the account manager",
        "manager",
        "admin",
        "finance",
    ],
)
def test_every_staff_url_answers_only_what_the_viewer_may_see(app, client, login_as, world, relation):
    request, file, task, viewers, ids = world
    viewer = viewers[relation]
    login_as(viewer)
    token = client.csrf_token("/profile")
    checked = 0
    for rule in _rules(app, True):
        named = [name for name in rule.arguments if name in ID_NAMES]
        if not named:
            continue
        path, missing = rule.rule, rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(ids.get(name, 999999)))
            missing = missing.replace(f"<int:{name}>", "999999")
        drafting = app.view_functions[rule.endpoint].__module__ == DRAFTING_MODULE
        visible = all(
            _may_see(viewer, name, request, file, task, drafting, ids["proposal"]) for name in named
        )
        for method in sorted(rule.methods & {"GET", "POST"}):
            before = _footprint(request.id)
            data = {"csrf_token": token, "body": "x", "kind": "call"}
            response = client.get(path) if method == "GET" else client.post(path, data=data)
            page = response.get_data().decode("utf-8", "replace")  # a PDF is bytes
            if not visible:
                # Refused as if the object did not exist (404), or the role is refused the URL outright.
                no_such = client.get(missing) if method == "GET" else client.post(missing, data=data)
                assert response.status_code == no_such.status_code, (method, path)
                assert response.status_code in (403, 404), (method, path)
                assert SECRET not in page, (method, path)
                assert _footprint(request.id) == before, (method, path)
            else:
                assert response.status_code != 404, (method, path)
                if response.status_code == 200 and SECRET in page:
                    assert permissions.can_view_request(viewer, request), (method, path)
            checked += 1
    assert checked >= 12


@pytest.mark.parametrize("relation", ["agent of technical support", "finance", "sales lead"])
def test_no_staff_page_lists_a_request_its_viewer_may_not_see(app, client, login_as, world, relation):
    request, file, task, viewers, ids = world
    viewer = viewers[relation]
    assert not permissions.can_view_request(viewer, request)
    login_as(viewer)
    pages = 0
    for rule in _rules(app, False):
        if "GET" not in rule.methods:
            continue
        response = client.get(rule.rule)
        if response.status_code == 200:
            assert SECRET not in response.get_data(as_text=True), rule.rule
            pages += 1
    assert pages >= 2


def test_the_account_page_shows_only_requests_the_viewer_may_see(client, login_as, world):
    """The defect found: an account page listed other departments' open requests. A sales lead sees every
    account but not the after-sales request; the account manager sees their account's requests."""
    request, file, task, viewers, ids = world
    login_as(viewers["sales lead"])
    page = client.get(f"/staff/accounts/{ids['account_id']}")
    assert page.status_code == 200 and SECRET not in page.get_data(as_text=True)
    client.post_form("/logout", token_from="/profile")
    login_as(viewers["the account manager"])
    assert SECRET in client.get(f"/staff/accounts/{ids['account_id']}").get_data(as_text=True)
    client.post_form("/logout", token_from="/profile")
    login_as(viewers["agent of technical support"])
    assert client.get(f"/staff/accounts/{ids['account_id']}").status_code == 404
    before = _footprint(request.id)
    response = client.post_form(
        f"/staff/accounts/{ids['account_id']}/contacts",
        token_from="/profile",
        data={"kind": "call", "contacted_on": "2026-11-30"},
    )
    assert response.status_code == 404 and _footprint(request.id) == before
