"""The workspace tells the truth in the browser: a reroute that worked says where the request went (no "not
found", no stale department); a change refused as stale brings the whole workspace up to date — the
timeline included — keeping what was typed, so that sending it again works."""

from __future__ import annotations

from portal.extensions import db
from portal.models import ServiceRequest
from portal.services.requests import workflow
from tests.factories import make_user

PASSWORD = "test-Password-1"


def _request(customer) -> ServiceRequest:
    return workflow.submit_request(
        customer.account,
        customer,
        workflow.NewRequest("after_sale", "troubleshooting", "Printer offline", details={"product": "P-1"}),
    )


def _sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")


def test_a_reroute_says_where_it_went(page):
    agent = make_user("agent", departments=["after_sales"], email="reroute.agent@portal.example")
    request = _request(make_user("customer", email="reroute.customer@example.com"))
    reference, request_id = request.reference, request.id
    _sign_in(page, agent.email)
    page.goto(f"/staff/requests/{request_id}")
    reroute = page.locator("form", has=page.get_by_role("button", name="转派"))
    reroute.get_by_label("部门").select_option(label="技术支持部")
    reroute.get_by_label("原因").fill("A software fault, not hardware")
    reroute.get_by_role("button", name="转派").click()
    page.wait_for_url("**/staff/queue**")
    messages = page.locator("#messages").inner_text()
    assert reference in messages and "技术支持部" in messages and "未找到" not in messages
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request_id).department.code == "tech_support"
    # Chromium itself notes every 4xx answer; the 409 is the refusal, designed.
    assert [e for e in page.console_errors if "status of 409" not in e] == []


def test_a_stale_change_refreshes_the_workspace_and_keeps_the_text(page):
    agent = make_user("agent", departments=["after_sales"], email="stale.agent@portal.example")
    customer = make_user("customer", email="stale.customer@example.com")
    request = _request(customer)
    request_id = request.id
    _sign_in(page, agent.email)
    page.goto(f"/staff/requests/{request_id}")
    reroute = page.locator("form", has=page.get_by_role("button", name="转派"))
    reroute.get_by_label("部门").select_option(label="技术支持部")
    reroute.get_by_label("原因").fill("Firmware, says the log")

    # Meanwhile the customer writes: the request moved on.
    db.session.expire_all()
    workflow.add_reply(db.session.get(ServiceRequest, request_id), customer, "It prints again, sometimes.")

    reroute.get_by_role("button", name="转派").click()
    page.get_by_text("您打开后该请求已被他人修改").wait_for()
    page.get_by_text("It prints again, sometimes.").wait_for()  # the timeline is the current one
    reroute = page.locator("form", has=page.get_by_role("button", name="转派"))
    assert reroute.get_by_label("原因").input_value() == "Firmware, says the log"
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request_id).department.code == "after_sales"

    reroute.get_by_role("button", name="转派").click()  # sending again works
    page.wait_for_url("**/staff/queue**")
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request_id).department.code == "tech_support"
    # Chromium itself notes every 4xx answer; the 409 is the refusal, designed.
    assert [e for e in page.console_errors if "status of 409" not in e] == []


def test_the_workspace_at_1366_px_in_chinese(page):
    """The entitlements read without sideways scrolling (they wrapped one character per line), and the page
    has no serious accessibility finding."""
    from axe_playwright_python.sync_playwright import Axe
    from sqlalchemy import select

    from portal.models import User

    lead = db.session.scalar(select(User).where(User.email == "aftersales@portal.example"))
    request = db.session.scalar(
        select(ServiceRequest)
        .where(
            ServiceRequest.department_id == lead.departments[0].id, ServiceRequest.contract_id.is_not(None)
        )
        .order_by(ServiceRequest.id)
        .limit(1)
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/login")
    page.get_by_label("电子邮箱").fill(lead.email)
    page.get_by_label("密码").fill("demo-Portal-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.goto(f"/staff/requests/{request.id}")
    side = page.locator("aside.workspace-side")
    ledger = side.locator(".ledger-compact")
    ledger.wait_for()
    assert side.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    name = ledger.locator(".ledger-name").first
    assert name.evaluate("e => e.getBoundingClientRect().height") < 2.5 * name.evaluate(
        "e => parseFloat(getComputedStyle(e).lineHeight) || 20"
    )  # one line, not a character per line
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert page.console_errors == []
