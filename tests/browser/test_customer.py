"""A customer's journey: file an on-site request with a file under a contract, see what it uses, follow it,
reply, and confirm its resolution."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import ServiceRequest, User
from portal.services import workflow


def test_a_customer_files_follows_and_confirms_a_request(page, tmp_path):
    plan = tmp_path / "floor-plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.goto("/login")
    page.get_by_label("电子邮箱").fill("li.na@huaxin-bank.example")
    page.get_by_label("密码").fill("demo-Portal-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/my/")

    page.get_by_role("main").get_by_role("link", name="申请服务").click()
    page.get_by_role("link", name="安装").click()
    page.get_by_label("标题").fill("Install the new branch terminals")
    page.get_by_label("描述").fill("Twelve terminals in the Xicheng branch.")
    page.get_by_label("合同").select_option(label="HX-2026-001 · 2026 年度综合服务合同")
    page.get_by_label("现场天数").fill("2")
    page.get_by_label("现场天数").dispatch_event("change")
    page.locator("#use-preview", has_text="占用").wait_for()  # the live charge preview
    assert "现场服务天数" in page.locator("#use-preview").inner_text()
    page.get_by_label("现场地址").fill("北京市西城区金融大街 8 号")
    page.get_by_label("现场联系人", exact=True).fill("王先生")
    page.get_by_label("现场联系人电话").fill("13800000000")
    page.get_by_label("期望开始日期").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_label("附件").set_input_files(str(plan))
    page.get_by_role("button", name="提交请求").click()
    page.get_by_role("heading", name="处理记录").wait_for()
    assert "已提交" in page.locator("#messages").inner_text()
    assert page.get_by_role("link", name="floor-plan.pdf").is_visible()

    filed = db.session.scalar(
        select(ServiceRequest).where(ServiceRequest.title == "Install the new branch terminals")
    )
    assert filed.department.code == "delivery" and filed.visit_days == 2

    page.get_by_label("内容").fill("The site opens at 8:30.")
    page.get_by_role("button", name="发送").click()
    page.get_by_text("The site opens at 8:30.").wait_for()

    # Delivery resolves it (through the same engine the staff screens use) ...
    db.session.expire_all()  # the reply changed the request in the server's session
    agent = db.session.scalar(select(User).where(User.email == "delivery@portal.example"))
    workflow.assign(filed, agent, agent, seen_version=None)
    workflow.change_status(filed, "start", agent, seen_version=None)
    workflow.change_status(filed, "resolve", agent, seen_version=None)
    # ... and the customer confirms.
    page.reload()
    page.get_by_role("button", name="确认并关闭").click()
    page.locator(".facts").get_by_text("已关闭").wait_for()
    db.session.expire_all()
    assert db.session.get(ServiceRequest, filed.id).status == "closed"
    assert page.console_errors == []
