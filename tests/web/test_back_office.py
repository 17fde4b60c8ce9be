"""The back office on screen, as an administrator uses it: accounts (create with every problem at once,
find, reclassify, switch off and on), an account's people, staff (invite, role and departments, sign out
everywhere, password reset, the last administrator), departments."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Account, AuditEvent, Department, LoginSession, User
from tests.conftest import sign_in
from tests.factories import department, make_account, make_user

EN = {"Accept-Language": "en"}
NEW_ACCOUNT = {
    "code": "acme-cn",
    "name": "艾克米中国",
    "name_en": "Acme China",
    "industry": "manufacturing",
    "size": "medium",
    "tier": "key",
    "preferred_language": "en",
    "email_domains": "acme.example, ACME-cn.example",
}


def _post(client, path, data, token_from):
    token = client.csrf_token(token_from)
    return client.post(path, data={"csrf_token": token, **data}, headers=EN)


def _mails_to(outbox, address):
    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]
    return [m.get_body(("plain",)).get_content() for m in mails if m["To"] == address]


def _audited(action):
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def test_a_bad_account_is_refused_with_every_problem_and_nothing_is_written(client, login_as):
    login_as("admin")
    make_account(name="华信银行", code="HUAXIN")
    before = db.session.scalar(select(func.count(Account.id)))
    response = _post(
        client,
        "/admin/accounts",
        {
            **NEW_ACCOUNT,
            "code": "huaxin",
            "name": "华信银行",
            "tier": "gold",
            "email_domains": "not a domain!",
        },
        "/admin/accounts/new",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Another account has this code.",
        "Another account has this name.",
        "Choose one from the list.",
        "Not a domain: not, a, domain!.",
    ):
        assert message in page, message
    assert db.session.scalar(select(func.count(Account.id))) == before


def test_an_admin_onboards_an_account_and_its_administrator(app, client, login_as, outbox):
    admin = login_as("admin")
    manager = make_user("agent", departments=["sales"], full_name="Sales Sun")
    response = _post(
        client,
        "/admin/accounts",
        {**NEW_ACCOUNT, "account_manager_id": str(manager.id)},
        "/admin/accounts/new",
    )
    account = db.session.scalar(select(Account).where(Account.code == "ACME-CN"))
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/admin/accounts/{account.id}#people"
    )
    assert (account.name_en, account.tier, account.account_manager_id) == ("Acme China", "key", manager.id)
    assert account.domains == ["acme.example", "acme-cn.example"]
    listed = client.get("/admin/accounts?q=acme", headers=EN).get_data(as_text=True)
    assert "Acme China" in listed and "1 account" in listed
    # Inviting outside its domains is refused in place; on them, the invitation goes out by email.
    page = f"/admin/accounts/{account.id}"
    refused = _post(
        client, f"{page}/users", {"full_name": "Eve", "email": "eve@else.example", "role": "customer"}, page
    )
    assert refused.status_code == 422 and "Invite addresses on the account&#39;s domains" in refused.get_data(
        as_text=True
    )
    invited = _post(
        client,
        f"{page}/users",
        {"full_name": "Ada Admin", "email": "ada@acme.example", "role": "customer_admin"},
        page,
    )
    assert invited.status_code == 303
    ada = db.session.scalar(select(User).where(User.email == "ada@acme.example"))
    assert (ada.account_id, ada.role) == (account.id, "customer_admin")
    (body,) = _mails_to(outbox, "ada@acme.example")
    assert admin.full_name in body and "Acme China" in body
    link = re.search(r"https?://\S+(/invitation/\S+)", body).group(1)
    visitor = app.test_client()
    visitor.__class__ = type(client)
    token = visitor.csrf_token(link)
    assert (
        visitor.post(link, data={"csrf_token": token, "password": "Acme's own password 1"}).status_code == 303
    )
    assert sign_in(visitor, ada.email, password="Acme's own password 1").status_code == 303
    assert visitor.get("/my/").status_code == 200


def test_reclassifying_is_audited_with_before_and_after(client, login_as):
    login_as("admin")
    account = make_account(code="ACME", tier="ordinary", industry="retail", size="small")
    data = {
        **NEW_ACCOUNT,
        "code": "ACME",
        "name": account.name,
        "tier": "strategic",
        "industry": "retail",
        "size": "small",
        "email_domains": "",
    }
    response = _post(client, f"/admin/accounts/{account.id}", data, f"/admin/accounts/{account.id}")
    assert response.status_code == 303
    (event,) = _audited("account.reclassified")
    assert event.detail == {"before": {"tier": "ordinary"}, "after": {"tier": "strategic"}}
    assert db.session.get(Account, account.id).tier == "strategic"
    again = _post(client, f"/admin/accounts/{account.id}", data, f"/admin/accounts/{account.id}")
    assert again.status_code == 303 and len(_audited("account.reclassified")) == 1  # nothing changed


def test_an_account_switched_off_signs_its_people_out_and_keeps_them_out(app, client, login_as):
    login_as("admin")
    account = make_account()
    customer = make_user("customer", account=account)
    browser = app.test_client()
    browser.__class__ = type(client)
    assert sign_in(browser, customer.email).status_code == 303 and browser.get("/my/").status_code == 200
    page = f"/admin/accounts/{account.id}"
    assert _post(client, f"{page}/active", {}, page).status_code == 303
    assert browser.get("/my/").status_code == 302  # its open session stops at once
    assert sign_in(app.test_client(), customer.email).status_code == 422
    assert _post(client, f"{page}/active", {}, page).status_code == 303
    assert sign_in(browser, customer.email).status_code == 303
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "account.deactivated" in actions and "account.activated" in actions


def test_account_list_answers_htmx_with_the_results_only(client, login_as):
    login_as("admin")
    make_account(name="甲公司", name_en="Alpha Ltd", code="ALPHA", tier="key")
    make_account(name="乙公司", name_en="Beta Ltd", code="BETA", tier="ordinary")
    fragment = client.htmx_get("/admin/accounts?tier=key", headers=EN).get_data(as_text=True)
    assert "<html" not in fragment and 'id="account-results"' in fragment
    assert "Alpha Ltd" in fragment and "Beta Ltd" not in fragment
    assert "Beta Ltd" in client.get("/admin/accounts?q=%E4%B9%99", headers=EN).get_data(as_text=True)


def test_an_admin_invites_a_colleague_with_a_role_and_departments(client, login_as, outbox):
    login_as("admin")
    refused = _post(
        client, "/admin/staff", {"full_name": "", "email": "x", "role": "agent"}, "/admin/staff/new"
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert (
        "Give the person&#39;s name." in page and "Agents and leads work in at least one department." in page
    )
    assert db.session.scalar(select(User).where(User.email == "x")) is None
    support = department("tech_support")
    response = _post(
        client,
        "/admin/staff",
        {
            "full_name": "Tess Tech",
            "email": "Tess@Portal.example",
            "role": "agent",
            "department_ids": str(support.id),
        },
        "/admin/staff/new",
    )
    tess = db.session.scalar(select(User).where(User.email == "tess@portal.example"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin/staff/{tess.id}")
    assert [d.code for d in tess.departments] == ["tech_support"] and tess.account_id is None
    (body,) = _mails_to(outbox, "tess@portal.example")
    assert "/invitation/" in body


def test_role_and_departments_change_and_are_audited(client, login_as):
    login_as("admin")
    agent = make_user("agent", departments=["sales"])
    delivery = department("delivery")
    response = _post(
        client,
        f"/admin/staff/{agent.id}",
        {"full_name": agent.full_name, "role": "lead", "department_ids": str(delivery.id), "locale": "en"},
        f"/admin/staff/{agent.id}",
    )
    assert response.status_code == 303
    db.session.expire_all()
    changed = db.session.get(User, agent.id)
    assert (changed.role, [d.code for d in changed.departments], changed.locale) == (
        "lead",
        ["delivery"],
        "en",
    )
    assert _audited("user.role_changed")[-1].detail == {"role": "lead", "was": "agent"}
    assert _audited("user.departments_changed")[-1].detail == {"departments": ["delivery"]}


def test_deactivating_a_colleague_signs_them_out_everywhere(app, client, login_as):
    login_as("admin")
    agent = make_user("agent", departments=["sales"])
    browsers = []
    for _ in range(2):
        browser = app.test_client()
        browser.__class__ = type(client)
        assert sign_in(browser, agent.email).status_code == 303
        browsers.append(browser)
    page = f"/admin/staff/{agent.id}"
    assert _post(client, f"{page}/active", {}, page).status_code == 303
    assert all(b.get("/staff/").status_code == 302 for b in browsers)
    open_sessions = select(func.count(LoginSession.id)).where(
        LoginSession.user_id == agent.id, LoginSession.revoked_at.is_(None)
    )
    assert db.session.scalar(open_sessions) == 0
    # Switched on again, no old browser comes back: they sign in afresh.
    assert _post(client, f"{page}/active", {}, page).status_code == 303
    assert browsers[0].get("/staff/").status_code == 302
    assert sign_in(browsers[0], agent.email).status_code == 303


def test_the_last_administrator_stays(client, login_as):
    admin = login_as("admin")
    page = f"/admin/staff/{admin.id}"
    demoted = _post(client, page, {"full_name": admin.full_name, "role": "manager"}, page)
    assert demoted.status_code == 422 and "this is the last one" in demoted.get_data(as_text=True)
    other = make_user("admin")
    off = _post(client, f"/admin/staff/{other.id}/active", {}, page)
    assert off.status_code == 303 and not db.session.get(User, other.id).active
    # Now ``admin`` is the last active one again: the other cannot take the role away either.
    assert db.session.get(User, admin.id).role == "admin"
    again = _post(client, page, {"full_name": admin.full_name, "role": "finance"}, page)
    assert again.status_code == 422


def test_a_password_reset_goes_to_the_colleague(client, login_as, outbox):
    login_as("admin")
    agent = make_user("agent", departments=["sales"])
    page = f"/admin/staff/{agent.id}"
    response = _post(client, f"{page}/password-reset", {}, page)
    assert response.status_code == 303
    (body,) = _mails_to(outbox, agent.email)
    assert "/password/reset/" in body
    assert _audited("user.password_reset_sent")


def test_a_customer_user_has_no_staff_page(client, login_as):
    login_as("admin")
    customer = make_user("customer")
    assert client.get(f"/admin/staff/{customer.id}").status_code == 404


def test_departments_are_renamed_and_their_assignment_switched_from_one_page(client, login_as):
    login_as("admin")
    sales = department("sales")
    prefix = f"d{sales.id}-"
    refused = _post(
        client,
        f"/admin/departments/{sales.id}",
        {prefix + "name_zh": "", prefix + "name_en": "Sales"},
        "/admin/departments",
    )
    assert refused.status_code == 422 and "Give the Chinese name." in refused.get_data(as_text=True)
    response = _post(
        client,
        f"/admin/departments/{sales.id}",
        {prefix + "name_zh": "销售部", prefix + "name_en": "Sales team"},
        "/admin/departments",
    )
    assert response.status_code == 303
    assert db.session.get(Department, sales.id).name_en == "Sales team"
    toggled = _post(
        client,
        f"/admin/departments/{sales.id}/auto-assign",
        {"next": "/admin/departments"},
        "/admin/departments",
    )
    assert toggled.headers["Location"].endswith("/admin/departments")


def test_the_lists_run_the_same_statements_however_many_rows(client, login_as, count_queries):
    login_as("admin")
    manager = make_user("agent", departments=["sales"])

    def counted(path):
        with count_queries() as run:
            assert client.get(path).status_code == 200
        return run.n

    make_account(account_manager=manager)
    make_user("lead", departments=["sales", "delivery"])
    few = counted("/admin/accounts"), counted("/admin/staff")
    for _ in range(12):
        make_account(account_manager=make_user("agent", departments=["tech_support", "sales"]))
    assert (counted("/admin/accounts"), counted("/admin/staff")) == few
