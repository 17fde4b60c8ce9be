"""The back office's services: account details checked together and tidied, what a reclassification
records, staff roles and departments, and the rule that there is always an administrator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import permissions
from portal.extensions import db
from portal.models import AuditEvent
from portal.services.accounts import accounts
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.identity import staff
from tests.factories import department, make_account, make_user

DETAILS = accounts.AccountDetails(
    code=" acme-1 ",
    name=" 艾克米 ",
    name_en="Acme",
    industry="retail",
    size="small",
    tier="key",
    preferred_language="zh",
    account_manager_id=None,
    email_domains="@Acme.example acme.example, shop.acme.example",
)


def _with(**changes):
    return accounts.AccountDetails(**{**vars(DETAILS), **changes})


def test_an_account_is_created_tidied():
    admin = make_user("admin")
    account = accounts.create_account(admin, DETAILS)
    assert (account.code, account.name, account.active) == ("ACME-1", "艾克米", True)
    assert account.email_domains == "acme.example shop.acme.example"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"code": "A"}, "code"),
        ({"code": "-ACME"}, "code"),
        ({"code": "ACME 1"}, "code"),
        ({"code": "A" * 21}, "code"),
        ({"name": "  "}, "name"),
        ({"tier": "gold"}, "tier"),
        ({"industry": ""}, "industry"),
        ({"size": "huge"}, "size"),
        ({"preferred_language": "fr"}, "preferred_language"),
        ({"email_domains": "acme"}, "email_domains"),
        ({"email_domains": "a..b.example"}, "email_domains"),
    ],
)
def test_bad_details_are_refused_by_field(changes, field):
    with pytest.raises(InvalidInput) as refused:
        accounts.create_account(make_user("admin"), _with(**changes))
    assert field in refused.value.errors


def test_every_problem_comes_at_once_and_codes_and_names_are_unique():
    make_account(code="ACME-1", name="艾克米")
    with pytest.raises(InvalidInput) as refused:
        accounts.create_account(
            make_user("admin"), _with(tier="", account_manager_id=make_user("finance").id)
        )
    assert set(refused.value.errors) == {"code", "name", "tier", "account_manager_id"}


def test_an_account_keeps_its_own_code_and_name_when_edited():
    admin = make_user("admin")
    account = accounts.create_account(admin, DETAILS)
    assert accounts.update_account(admin, account, DETAILS) == []
    assert accounts.update_account(admin, account, _with(name_en="Acme Retail", size="medium")) == [
        "name_en",
        "size",
    ]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "Account").order_by(AuditEvent.id)
    )
    assert [(e.action, e.detail.get("fields")) for e in events] == [
        ("account.created", None),
        ("account.reclassified", None),
        ("account.updated", ["name_en"]),
    ]


def test_only_administrators_run_the_back_office():
    for role in ("manager", "finance", "lead", "customer_admin"):
        with pytest.raises(NotAllowed):
            accounts.create_account(
                make_user(role, departments=["sales"] if role == "lead" else None), DETAILS
            )


def test_the_filters_find_by_code_or_either_name():
    make_account(code="HUAXIN", name="华信银行", name_en="Huaxin Bank", tier="strategic")
    make_account(code="DF", name="东方能源", name_en="Dongfang Energy", tier="key", active=False)

    def found(**filters):
        return [a.code for a in db.session.scalars(accounts.account_list(accounts.AccountFilters(**filters)))]

    assert (
        found(search="huaxin") == ["HUAXIN"]
        and found(search="能源") == ["DF"]
        and found(search="bank") == ["HUAXIN"]
    )
    assert found(state="inactive") == ["DF"] and found(tier="strategic") == ["HUAXIN"]


def test_agents_and_leads_work_in_departments_and_other_roles_in_none():
    admin = make_user("admin")
    sales = department("sales")
    with pytest.raises(InvalidInput) as refused:
        staff.invite_staff(admin, "new@portal.example", staff.StaffDetails("New", "lead", ()))
    assert "department_ids" in refused.value.errors
    finance = staff.invite_staff(
        admin, "money@portal.example", staff.StaffDetails("Money", "finance", (sales.id,))
    )
    assert finance.departments == []
    agent = make_user("agent", departments=["sales", "delivery"])
    staff.update_staff(admin, agent, staff.StaffDetails(agent.full_name, "manager", (sales.id,)))
    assert (agent.role, agent.departments) == ("manager", [])
    with pytest.raises(InvalidInput) as taken:
        staff.invite_staff(admin, "MONEY@portal.example", staff.StaffDetails("Again", "finance", ()))
    assert "email" in taken.value.errors


def test_there_is_always_an_administrator():
    only = make_user("admin")
    with pytest.raises(InvalidInput):
        staff.update_staff(only, only, staff.StaffDetails(only.full_name, "manager", ()))
    with pytest.raises(InvalidInput):
        staff.set_staff_active(only, only, False)  # nor oneself
    second = make_user("admin")
    staff.update_staff(only, second, staff.StaffDetails(second.full_name, "manager", ()))
    assert second.role == "manager"
    third = make_user("admin")
    staff.set_staff_active(only, third, False)
    with pytest.raises(InvalidInput):
        staff.update_staff(only, only, staff.StaffDetails(only.full_name, "finance", ()))
    assert only.role == "admin" and only.active


def test_customers_users_are_not_managed_as_staff():
    admin = make_user("admin")
    customer = make_user("customer")
    with pytest.raises(NotAllowed):
        staff.set_staff_active(admin, customer, False)


# viewer -> (manages a user of the account, invites to the account, manages a staff user)
MANAGES = {
    "admin": (True, True, True),
    "customer administrator of the account": (True, True, False),
    "customer administrator of another account": (False, False, False),
    "a customer of the account": (False, False, False),
    "manager": (False, False, False),
    "lead": (False, False, False),
}


@pytest.mark.parametrize("viewer", list(MANAGES))
def test_who_manages_whom(viewer):
    account = make_account()
    person = make_user("customer", account=account)
    colleague = make_user("agent", departments=["sales"])
    users = {
        "admin": make_user("admin"),
        "customer administrator of the account": make_user("customer_admin", account=account),
        "customer administrator of another account": make_user("customer_admin"),
        "a customer of the account": make_user("customer", account=account),
        "manager": make_user("manager"),
        "lead": make_user("lead", departments=["sales"]),
    }
    user = users[viewer]
    assert (
        permissions.can_manage_user(user, person),
        permissions.can_manage_users_of(user, account),
        permissions.can_manage_user(user, colleague),
    ) == MANAGES[viewer]
