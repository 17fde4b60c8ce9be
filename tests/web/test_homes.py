"""Every role's home shows real data, scoped to what that person may see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ServiceRequest, TimelineEvent
from tests.conftest import sign_in
from tests.factories import department, make_contract, make_request, make_user

DEMO_PASSWORD = "demo-Portal-2026"

# What each demo login must see on its home, in Chinese and in English.
DEMO_HOMES = {
    "li.na@huaxin-bank.example": (
        "/my/",
        ["华信银行", "战略合作伙伴", "HX-2026-001", "孙伟"],
        ["Huaxin Bank", "Strategic partner", "HX-2026-001", "Sun Wei"],
    ),
    "zhao.lei@huaxin-bank.example": ("/my/", ["华信银行", "HX-2026-017"], ["Huaxin Bank", "HX-2026-017"]),
    "wang.fang@dongfang-energy.example": (
        "/my/",
        ["东方能源集团", "重点客户", "DF-2026-004"],
        ["Dongfang Energy", "Key account", "DF-2026-004"],
    ),
    "chen.jie@jinggong-mfg.example": (
        "/my/",
        ["精工制造", "普通客户", "JG-2026-002"],
        ["Jinggong Manufacturing", "Ordinary account", "JG-2026-002"],
    ),
    "sales@portal.example": (
        "/staff/",
        ["销售部", "本部门未完成的请求"],
        ["Sales", "Open requests of my departments"],
    ),
    "support@portal.example": ("/staff/", ["技术支持部"], ["Technical Support"]),
    "aftersales@portal.example": (
        "/staff/",
        ["售后服务部", "部门负责人"],
        ["After-Sales Service", "Department lead"],
    ),
    "delivery@portal.example": ("/staff/", ["执行部门（交付）"], ["Delivery"]),
    "marketing@portal.example": ("/staff/", ["市场部"], ["Marketing"]),
    "finance@portal.example": (
        "/finance/",
        ["各客户合同", "华信银行", "¥"],
        ["Contracts by account", "Huaxin Bank", "CN¥"],
    ),
    "manager@portal.example": (
        "/manager/",
        ["客户满意度", "服务质量", "关系维护"],
        ["Customer satisfaction", "Service quality", "Relationship maintenance"],
    ),
    "admin@portal.example": (
        "/admin/",
        ["最近审计日志", "已登录"],
        ["Recent audit log", "Signed in"],
    ),
}


@pytest.mark.demo_data
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("email", DEMO_HOMES)
def test_every_demo_login_reaches_its_home_with_real_data(client, email, language):
    home, zh_texts, en_texts = DEMO_HOMES[email]
    client.post_form("/language", {"language": language, "next": "/login"})
    response = sign_in(client, email, password=DEMO_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == home
    page = client.get(home).get_data(as_text=True)
    for text in zh_texts if language == "zh" else en_texts:
        assert text in page, (email, language, text)


@pytest.mark.demo_data
def test_staff_see_the_open_requests_of_their_departments(client):
    sign_in(client, "aftersales@portal.example", password=DEMO_PASSWORD)
    page = client.get("/staff/").get_data(as_text=True)
    from portal.models import Department

    dept = db.session.scalar(select(Department).where(Department.code == "after_sales"))
    theirs = db.session.scalars(
        select(ServiceRequest.reference).where(
            ServiceRequest.department_id == dept.id, ServiceRequest.status.in_(("open", "in_progress"))
        )
    ).all()
    others = db.session.scalars(
        select(ServiceRequest.reference).where(
            ServiceRequest.department_id != dept.id, ServiceRequest.assignee_id.is_(None)
        )
    ).all()
    assert theirs and all(ref in page for ref in theirs)
    assert not any(ref in page for ref in others)


def test_a_customer_sees_own_and_shared_requests_and_the_admin_sees_all(client, login_as):
    colleague = make_user("customer")
    account = colleague.account
    me = make_user("customer", account=account)
    admin = make_user("customer_admin", account=account)
    mine = make_request(me, title="My own request", shared_with_account=False)
    shared = make_request(colleague, title="A shared request", shared_with_account=True)
    private = make_request(colleague, title="A private request", shared_with_account=False)
    foreign = make_request(make_user("customer"), title="Another account's request")

    login_as(me)
    page = client.get("/my/").get_data(as_text=True)
    assert "My own request" in page and "A shared request" in page
    assert "A private request" not in page and "Another account" not in page
    assert client.get(f"/my/requests/{private.id}").status_code == 404

    client.post_form("/logout", token_from="/my/")
    login_as(admin)
    page = client.get("/my/").get_data(as_text=True)
    assert all(r.title in page for r in (mine, shared, private)) and foreign.title not in page


CUSTOMER_OBJECT_PAGES = ["/my/requests/{request}", "/my/contracts/{contract}"]


@pytest.mark.parametrize("role", ["customer", "customer_admin"])
@pytest.mark.parametrize("pattern", CUSTOMER_OBJECT_PAGES)
def test_a_foreign_accounts_object_answers_404(client, login_as, role, pattern):
    other = make_user("customer_admin")
    foreign = {"request": make_request(other).id, "contract": make_contract(other.account).id}
    me = make_user(role)
    own = {"request": make_request(me).id, "contract": make_contract(me.account).id}
    login_as(me)
    assert client.get(pattern.format(**own)).status_code == 200
    assert client.get(pattern.format(**foreign)).status_code == 404
    assert client.get(pattern.format(request=999999, contract=999999)).status_code == 404


def test_customers_never_see_internal_notes(client, login_as):
    me = make_user("customer")
    request = make_request(me)
    agent = make_user("agent", departments=["after_sales"])
    db.session.add_all(
        [
            TimelineEvent(
                request_id=request.id,
                kind="internal_note",
                actor_id=agent.id,
                internal=True,
                body="The customer's config is a mess",
            ),
            TimelineEvent(
                request_id=request.id, kind="public_reply", actor_id=agent.id, body="We are on it."
            ),
        ]
    )
    db.session.commit()
    login_as(me)
    page = client.get(f"/my/requests/{request.id}").get_data(as_text=True)
    assert "We are on it." in page and "config is a mess" not in page


def test_contract_detail_shows_terms_and_entitlements(client, login_as):
    me = make_user("customer")
    contract = make_contract(me.account, entitlements={"on_site_days": 20, "custom_reports": 4})
    login_as(me)
    page = client.get(f"/my/contracts/{contract.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert contract.number in page and "On-site days" in page and "20" in page and "Custom reports" in page


def _queries_for(client, count_queries, path: str) -> int:
    with count_queries() as counted:
        assert client.get(path).status_code == 200
    return counted.n


def test_customer_home_query_count_does_not_grow_with_rows(client, login_as, count_queries):
    me = make_user("customer_admin")
    make_contract(me.account)
    make_request(me)
    login_as(me)
    few = _queries_for(client, count_queries, "/my/")
    for _ in range(15):
        make_request(me)
    make_contract(me.account)
    make_contract(me.account)
    assert _queries_for(client, count_queries, "/my/") == few


def test_staff_home_query_count_does_not_grow_with_rows(client, login_as, count_queries):
    agent = make_user("agent", departments=["after_sales"])
    customer = make_user("customer")
    dept_id = agent.departments[0].id
    make_request(customer, department_id=dept_id, assignee_id=agent.id)
    login_as(agent)
    few = _queries_for(client, count_queries, "/staff/")
    for _ in range(10):
        make_request(make_user("customer"), department_id=dept_id, assignee_id=agent.id)
    assert _queries_for(client, count_queries, "/staff/") == few


@pytest.mark.parametrize(
    "role, path", [("finance", "/finance/"), ("manager", "/manager/"), ("admin", "/admin/")]
)
def test_summary_homes_query_count_does_not_grow_with_rows(client, login_as, count_queries, role, path):
    login_as(role)
    first = make_user("customer")
    make_contract(first.account)
    make_request(first)
    few = _queries_for(client, count_queries, path)
    for _ in range(5):
        customer = make_user("customer")
        make_contract(customer.account)
        make_request(customer)
    assert _queries_for(client, count_queries, path) == few


def test_boosted_navigation_gets_the_whole_page_and_responses_vary_on_htmx(client, login_as):
    login_as("agent", departments=["sales"])
    response = client.get("/staff/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


def test_the_contract_page_shows_the_ledger_and_what_is_behind_it(client, login_as, count_queries):
    from datetime import date, timedelta
    from decimal import Decimal

    from portal.models import TimeEntry

    me = make_user("customer")
    colleague = make_user("customer", account=me.account)
    contract = make_contract(
        me.account,
        entitlements={"on_site_days": 10, "support_hours": 20},
        start_date=date.today() - timedelta(days=50),
        end_date=date.today() + timedelta(days=300),
    )
    visit = make_request(
        me,
        category="on_site",
        subtype="installation",
        status="closed",
        visit_days=Decimal(3),
        contract_id=contract.id,
    )
    private = make_request(
        colleague,
        category="on_site",
        subtype="delivery",
        status="open",
        visit_days=Decimal(2),
        contract_id=contract.id,
        shared_with_account=False,
    )
    db.session.add(
        TimeEntry(
            request_id=visit.id,
            contract_id=contract.id,
            user_id=make_user("agent").id,
            minutes=150,
            billable=True,
            work_date=date.today(),
        )
    )
    db.session.commit()
    login_as(me)
    page = client.get(f"/my/contracts/{contract.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    ledger = page[page.index('class="ledger"') : page.index("</table>", page.index('class="ledger"'))]
    assert "On-site days" in ledger and ">3<" in ledger.replace(" ", "") and ">2<" in ledger.replace(" ", "")
    assert "2.5" in ledger  # 150 billable minutes
    assert f'href="/my/requests/{visit.id}"' in page
    assert private.reference in page and f'href="/my/requests/{private.id}"' not in page
    with count_queries() as few:
        client.get(f"/my/contracts/{contract.id}")
    for _ in range(5):
        make_request(me, category="on_site", subtype="installation", status="closed", contract_id=contract.id)
        db.session.add(
            TimeEntry(
                request_id=visit.id,
                contract_id=contract.id,
                user_id=make_user("agent").id,
                minutes=30,
                billable=True,
                work_date=date.today(),
            )
        )
    db.session.commit()
    with count_queries() as many:
        client.get(f"/my/contracts/{contract.id}")
    assert many.n == few.n


def test_the_staff_home_shows_each_request_s_sla(client, login_as):
    from datetime import timedelta

    from portal.models.base import utcnow

    login_as("agent", departments=["after_sales"])
    late = make_request(
        make_user("customer"),
        department_id=department("after_sales").id,
        status="in_progress",
        resolution_due_at=utcnow() - timedelta(days=3),
    )
    page = client.get("/staff/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<th scope="col">SLA</th>' in page
    row = page[page.index(late.reference) :]
    assert "Overdue" in row[: row.index("</tr>")]
