"""The permission module against a table written from DESIGN.md §1, not from the code: for each viewer's
relation to a request or an account, whether they see it and whether they may act on it. Each row is checked
twice — by the predicate and by the SQL condition that lists use — so the two can never drift apart."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import permissions
from portal.extensions import db
from portal.models import Account, Contract, FollowUpTask, ServiceRequest, TimelineEvent
from portal.services.search import finding
from tests.factories import department, make_account, make_contract, make_request, make_user

# viewer -> (sees a private request, sees it when shared with the account, may work on it)
REQUEST_TABLE = {
    "agent of the request's department": (True, True, True),
    "agent of another department": (False, False, False),
    "agent of another department, assigned to it": (True, True, True),
    "the account's account manager": (True, True, False),
    "lead of the request's department": (True, True, True),
    "lead of another department": (False, False, False),
    "manager": (True, True, False),
    "admin": (True, True, False),
    "finance": (False, False, False),
    "customer administrator of the account": (True, True, False),
    "customer administrator of another account": (False, False, False),
    "the customer who filed it": (True, True, False),
    "another customer of the account": (False, True, False),
    "a customer of another account": (False, False, False),
}

# viewer -> (sees the account, may record a contact, sees a draft contract, drafts its contracts)
ACCOUNT_TABLE = {
    "its account manager": (True, True, True, True),
    "an agent who manages other accounts": (False, False, False, False),
    "a sales lead": (True, True, True, False),
    "a lead of another department": (False, False, False, False),
    "manager": (True, False, True, False),
    "admin": (True, False, True, True),
    "finance": (True, False, True, True),
    "a customer of the account": (True, False, False, False),
    "a customer of another account": (False, False, False, False),
}


@pytest.fixture
def world():
    account = make_account(account_manager=make_user("agent", departments=["sales"]))
    other = make_account()
    requester = make_user("customer", account=account)
    request = make_request(requester, department_id=department("after_sales").id)
    viewers = {
        "agent of the request's department": make_user("agent", departments=["after_sales"]),
        "agent of another department": make_user("agent", departments=["tech_support"]),
        "agent of another department, assigned to it": make_user("agent", departments=["tech_support"]),
        "the account's account manager": account.account_manager,
        "lead of the request's department": make_user("lead", departments=["after_sales"]),
        "lead of another department": make_user("lead", departments=["delivery"]),
        "manager": make_user("manager"),
        "admin": make_user("admin"),
        "finance": make_user("finance"),
        "customer administrator of the account": make_user("customer_admin", account=account),
        "customer administrator of another account": make_user("customer_admin", account=other),
        "the customer who filed it": requester,
        "another customer of the account": make_user("customer", account=account),
        "a customer of another account": make_user("customer", account=other),
    }
    request.assignee_id = viewers["agent of another department, assigned to it"].id
    request.shared_with_account = False
    db.session.commit()
    return request, viewers


def _listed(viewer, request) -> bool:
    return bool(
        db.session.scalar(
            select(func.count()).where(ServiceRequest.id == request.id, permissions.request_condition(viewer))
        )
    )


def test_the_request_table_covers_every_role(world):
    _, viewers = world
    assert {v.role for v in viewers.values()} == {
        "agent", "lead", "manager", "admin", "finance", "customer_admin", "customer"
    }  # fmt: skip


@pytest.mark.parametrize("relation", sorted(REQUEST_TABLE))
def test_who_sees_and_works_a_request(world, relation):
    request, viewers = world
    viewer = viewers[relation]
    private, shared, work = REQUEST_TABLE[relation]
    assert permissions.can_view_request(viewer, request) is private
    assert _listed(viewer, request) is private
    assert permissions.can_work_request(viewer, request) is work
    request.shared_with_account = True
    db.session.commit()
    assert permissions.can_view_request(viewer, request) is shared
    assert _listed(viewer, request) is shared
    assert permissions.can_work_request(viewer, request) is work


@pytest.mark.parametrize("relation", sorted(REQUEST_TABLE))
def test_search_finds_a_request_exactly_when_the_person_sees_it(world, relation):
    """The same table through the search box: the request by its title, a reply and a report; an internal
    note only for the company's people who see the request, never for a customer."""
    request, viewers = world
    viewer = viewers[relation]
    request.title = "机房维修"
    db.session.add_all(
        [
            TimelineEvent(request_id=request.id, kind="public_reply", body="回复：更换电源"),
            TimelineEvent(request_id=request.id, kind="internal_note", internal=True, body="备注：保修已过"),
        ]
    )
    db.session.commit()
    for shared in (False, True):
        request.shared_with_account = shared
        db.session.commit()
        sees = REQUEST_TABLE[relation][1 if shared else 0]
        for query in ("维修", "电源", "维"):
            found = finding.search(viewer, query).sections.get("requests", [])
            assert [h.request_id for h in found] == ([request.id] if sees else []), (query, shared)
        notes = finding.search(viewer, "保修").sections.get("requests", [])
        assert bool(notes) is (sees and viewer.role in permissions.INTERNAL_ROLES), shared


@pytest.mark.parametrize("relation", sorted(REQUEST_TABLE))
def test_a_queue_never_lists_more_than_the_person_may_see(world, relation):
    request, viewers = world
    viewer = viewers[relation]
    for queue in ("unassigned", "mine", "at_risk", "waiting", "all_open"):
        listed = db.session.scalar(
            select(func.count()).where(
                ServiceRequest.id == request.id, permissions.queue_condition(viewer, queue)
            )
        )
        assert not listed or permissions.can_view_request(viewer, request), (relation, queue)


def test_only_the_departments_lead_assigns_to_others(world):
    request, viewers = world
    assert permissions.can_assign_others(viewers["lead of the request's department"], request)
    for relation in ("lead of another department", "agent of the request's department", "admin", "manager"):
        assert not permissions.can_assign_others(viewers[relation], request), relation


@pytest.fixture
def accounts():
    manager = make_user("agent", departments=["sales"])
    account = make_account(account_manager=manager)
    other = make_account(account_manager=make_user("agent", departments=["sales"]))
    contract = make_contract(account)
    task = FollowUpTask(account_id=account.id, owner_id=manager.id, reason="low_csat")
    db.session.add(task)
    db.session.commit()
    viewers = {
        "its account manager": manager,
        "an agent who manages other accounts": other.account_manager,
        "a sales lead": make_user("lead", departments=["sales"]),
        "a lead of another department": make_user("lead", departments=["after_sales"]),
        "manager": make_user("manager"),
        "admin": make_user("admin"),
        "finance": make_user("finance"),
        "a customer of the account": make_user("customer", account=account),
        "a customer of another account": make_user("customer", account=other),
    }
    return account, contract, task, viewers


@pytest.mark.parametrize("relation", sorted(ACCOUNT_TABLE))
def test_who_sees_an_account_and_its_contracts(accounts, relation):
    account, contract, _, viewers = accounts
    viewer = viewers[relation]
    sees, records, sees_draft, drafts = ACCOUNT_TABLE[relation]
    assert permissions.can_view_account(viewer, account) is sees
    listed = db.session.scalar(
        select(func.count()).where(Account.id == account.id, permissions.account_condition(viewer))
    )
    assert bool(listed) is sees
    assert permissions.can_view_contract(viewer, contract) is sees
    listed = db.session.scalar(
        select(func.count()).where(Contract.id == contract.id, permissions.contract_condition(viewer))
    )
    assert bool(listed) is sees
    assert permissions.can_record_contact(viewer, account) is records
    assert permissions.can_draft_contract(viewer, account) is drafts
    draft = make_contract(account, state="draft")
    assert permissions.can_view_contract(viewer, draft) is sees_draft
    listed = db.session.scalar(
        select(func.count()).where(Contract.id == draft.id, permissions.contract_condition(viewer))
    )
    assert bool(listed) is sees_draft


@pytest.mark.parametrize("relation", sorted(ACCOUNT_TABLE))
def test_search_finds_an_account_and_its_contracts_exactly_when_the_person_sees_them(accounts, relation):
    account, contract, _, viewers = accounts
    viewer = viewers[relation]
    sees, _records, sees_draft, _drafts = ACCOUNT_TABLE[relation]
    account.name, contract.title = "华北电网集团", "电网年度维保"
    draft = make_contract(account, state="draft", title="电网续约草案")
    results = finding.search(viewer, "电网")
    if permissions.is_customer(viewer):
        assert "accounts" not in results.sections  # their own account is no result; no other account is
    else:
        assert [h.object_id for h in results.sections["accounts"]] == ([account.id] if sees else [])
    expected = {contract.id} if sees else set()
    expected |= {draft.id} if sees_draft else set()
    assert {h.object_id for h in results.sections["contracts"]} == expected


@pytest.mark.parametrize("relation", sorted(ACCOUNT_TABLE))
def test_a_follow_up_is_its_owners(accounts, relation):
    _, _, task, viewers = accounts
    viewer = viewers[relation]
    sees = relation in ("its account manager", "manager", "admin")
    assert permissions.can_view_follow_up(viewer, task) is sees
    listed = db.session.scalar(
        select(func.count()).where(FollowUpTask.id == task.id, permissions.follow_up_condition(viewer))
    )
    assert bool(listed) is sees
    assert permissions.can_close_follow_up(viewer, task) is (relation in ("its account manager", "admin"))
