"""A lead's day in the browser: filter the queue, claim a request, reply, schedule a visit, resolve it."""

from __future__ import annotations

from portal.extensions import db
from portal.models import ServiceRequest
from portal.services.requests import workflow
from tests.factories import make_user

PASSWORD = "test-Password-1"


def test_a_lead_triages_an_on_site_request_end_to_end(page):
    lead = make_user(
        "lead", departments=["delivery"], email="lead.delivery@portal.example", full_name="Delivery Lead"
    )
    customer = make_user("customer", email="site.customer@example.com")
    request = workflow.submit_request(
        customer.account,
        customer,
        workflow.NewRequest(
            "on_site",
            "installation",
            "Install the branch terminals",
            priority="high",
            details={"site_address": "No. 1 Test Road", "visit_days": 1},
        ),
    )
    reference, request_id = request.reference, request.id

    page.goto("/login")
    page.get_by_label("电子邮箱").fill(lead.email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")

    page.goto("/staff/queue?queue=unassigned")
    page.get_by_label("类别").select_option("on_site")
    page.wait_for_url("**category=on_site**")  # the filter swapped the table and kept the URL
    row = page.locator(f"#request-{request_id}")
    row.wait_for()
    row.get_by_role("button", name="认领").click()
    row.locator(".assignee", has_text="Delivery Lead").wait_for()  # the row was swapped in place

    row.get_by_role("link", name=reference, exact=True).click()
    page.get_by_role("heading", name="处理记录").wait_for()
    page.get_by_label("内容").fill("We will come on Monday with the installers.")
    page.get_by_role("button", name="发送").click()
    page.get_by_text("We will come on Monday with the installers.").wait_for()

    visit = page.locator("form", has=page.get_by_role("button", name="预约上门"))
    visit.get_by_label("日期").fill("2099-01-15")
    visit.get_by_label("时间").fill("10:00")
    visit.get_by_label("时长（小时）").fill("4")
    visit.get_by_role("button", name="预约上门").click()
    page.locator(".facts").get_by_text("已预约上门").wait_for()

    page.get_by_role("button", name="开始处理").click()
    page.get_by_role("button", name="标记为已解决").click()
    page.locator(".facts").get_by_text("已解决").wait_for()

    db.session.expire_all()
    done = db.session.get(ServiceRequest, request_id)
    assert (done.status, done.assignee_id) == ("resolved", lead.id)
    assert done.first_responded_at is not None and done.visit_duration_minutes == 240
    assert page.console_errors == []
