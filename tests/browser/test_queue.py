"""The staff queue as a lead uses it, after it stopped repeating every account and colleague on the page:
the account filter typed with suggestions, "Assign…" on a row (mouse and keyboard), bulk assign, and the
same work without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import ServiceRequest
from portal.services.requests import workflow
from tests.factories import make_account, make_user

PASSWORD = "test-Password-1"


@pytest.fixture
def team(demo_written):  # noqa: ANN001, ARG001
    lead = make_user("lead", departments=["delivery"], email="q.lead@portal.example", full_name="Queue Lead")
    make_user("agent", departments=["delivery"], email="q.agent@portal.example", full_name="Queue Agent")
    account = make_account(name="队列测试客户", name_en="Queue Test Account", tier="strategic")
    customer = make_user("customer", account=account, email="q.customer@example.com")
    made = [
        workflow.submit_request(
            account,
            customer,
            workflow.NewRequest(
                "on_site",
                "installation",
                f"Queue test {n}",
                priority="high",
                details={"site_address": "No. 1 Test Road", "visit_days": 1},
            ),
        )
        for n in range(3)
    ]
    return lead, [r.id for r in made]


def _sign_in(page, email: str) -> None:  # noqa: ANN001
    page.goto("/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")


def _assignee(request_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(ServiceRequest, request_id).assignee_id


def test_filter_by_a_typed_account_assign_a_row_and_bulk_assign(page, team):  # noqa: ANN001
    lead, (first, second, third) = team
    _sign_in(page, lead.email)
    page.goto("/staff/queue?queue=unassigned")
    account = page.get_by_label("客户", exact=True)
    account.focus()  # the suggestions load when the field is first used
    page.locator("#account-suggestions option[value='队列测试客户']").wait_for(state="attached")
    assert "/staff/queue/accounts" not in page.url  # loading the suggestions is not a navigation
    account.fill("队列测试")
    account.press("Tab")  # a change filters the table in place and keeps the URL
    page.wait_for_url("**/staff/queue?*account=%E9%98%9F%E5%88%97%E6%B5%8B%E8%AF%95*")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)

    # "Assign…" loads the small form into the row, with the focus on its choice (keyboard: Enter on the link).
    row = page.locator(f"#request-{first}")
    row.get_by_role("link", name="指派…").focus()
    page.keyboard.press("Enter")
    choice = row.get_by_role("combobox")
    choice.wait_for()
    assert choice.evaluate("element => element === document.activeElement")
    choice.select_option(label="Queue Agent")
    row.get_by_role("button", name="指派").click()
    page.locator(f"#request-{first} .assignee", has_text="Queue Agent").wait_for()  # swapped in place
    agent_id = _assignee(first)
    assert agent_id is not None and agent_id != lead.id

    # Bulk: tick the other two and assign them to the lead.
    for request_id in (second, third):
        page.locator(f"#request-{request_id} input[type=checkbox]").check()
    page.get_by_label("将选中的请求指派给").select_option(label="Queue Lead")
    page.locator("#bulk").get_by_role("button", name="指派").click()
    page.get_by_text("已分派 2 个。").wait_for()
    assert (_assignee(second), _assignee(third)) == (lead.id, lead.id)
    assert page.console_errors == []


def test_without_javascript_a_lead_claims_filters_and_reaches_the_assign_form(browser, live_server, team):  # noqa: ANN001
    lead, (first, second, _third) = team
    context = browser.new_context(base_url=live_server, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, lead.email)
        page.goto("/staff/queue?queue=unassigned")
        page.get_by_label("客户", exact=True).fill("Queue Test")  # part of the English name will do
        page.get_by_role("button", name="筛选").first.click()
        page.wait_for_url("**account=Queue+Test**")
        assert page.locator("table.queue tbody tr").count() == 3
        page.locator(f"#request-{first}").get_by_role("button", name="认领").click()
        page.wait_for_url("**/staff/queue?queue=unassigned**")  # back to the same filtered queue
        assert _assignee(first) == lead.id
        page.locator(f"#request-{second}").get_by_role("link", name="指派…").click()
        page.wait_for_url(f"**/staff/requests/{second}#assign")
        page.locator("#assign").get_by_role("button", name="指派").wait_for()
    finally:
        context.close()
