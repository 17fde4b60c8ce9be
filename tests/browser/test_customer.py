"""A customer's journey: file an on-site request with a file under a contract, see what it uses, follow it,
reply, and confirm its resolution."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import ServiceRequest, TimelineEvent, User
from portal.services.requests import workflow


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
    workflow.assign(filed, agent, agent, seen_version=filed.version)
    workflow.change_status(filed, "start", agent, seen_version=None)
    workflow.change_status(filed, "resolve", agent, seen_version=None)
    # ... and the customer confirms.
    page.reload()
    page.get_by_role("button", name="确认并关闭").click()
    page.locator(".facts").get_by_text("已关闭").wait_for()
    db.session.expire_all()
    assert db.session.get(ServiceRequest, filed.id).status == "closed"
    assert page.console_errors == []


def _sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill("demo-Portal-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/my/")


def test_an_over_entitlement_request_waits_for_and_gets_the_account_admins_approval(browser, live_server):
    from datetime import UTC, datetime

    import pytest

    from portal.services.requests.workflow import NotAllowed

    def new_page():
        context = browser.new_context(base_url=live_server, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    # An account user asks for more on-site days than the contract has left.
    user = new_page()
    _sign_in(user, "zhao.lei@huaxin-bank.example")
    user.goto("/my/new/on_site/installation")
    user.get_by_label("标题").fill("Rebuild the data centre cabling")
    user.get_by_label("描述").fill("Every rack of the second floor.")
    user.get_by_label("合同").select_option(label="HX-2026-001 · 2026 年度综合服务合同")
    user.get_by_label("现场天数").fill("60")
    user.get_by_label("现场天数").dispatch_event("change")
    user.locator("#use-preview.over").wait_for()  # the preview warns before anything is filed
    preview = user.locator("#use-preview").inner_text()
    assert "超出合同" in preview and "天" in preview and "批准" in preview  # how far over, and who decides
    user.get_by_label("现场地址").fill("北京市西城区金融大街 8 号")
    user.get_by_label("现场联系人", exact=True).fill("赵磊")
    user.get_by_label("现场联系人电话").fill("13900000000")
    user.get_by_label("期望开始日期").fill((date.today() + timedelta(days=14)).isoformat())
    user.get_by_role("button", name="提交请求").click()
    user.get_by_role("heading", name="等待审批").wait_for()
    assert user.get_by_role("button", name="批准").count() == 0  # only the administrator decides

    filed = db.session.scalar(
        select(ServiceRequest).where(ServiceRequest.title == "Rebuild the data centre cabling")
    )
    assert filed.approval == "pending" and filed.over_entitlement
    engineer = db.session.scalar(select(User).where(User.email == "delivery@portal.example"))
    visit = datetime.combine(date.today() + timedelta(days=20), datetime.min.time(), tzinfo=UTC)
    with pytest.raises(NotAllowed):  # staff cannot schedule it yet
        workflow.schedule_visit(
            filed, engineer, visit_at=visit, engineer=engineer, duration_minutes=480, seen_version=None
        )
    db.session.rollback()

    # The account administrator finds it waiting on the dashboard and approves it.
    admin = new_page()
    _sign_in(admin, "li.na@huaxin-bank.example")
    admin.locator("section.needs-you").get_by_role("link", name=filed.reference).click()
    card = admin.locator("section.approval").inner_text()
    assert "现场服务天数 60 天" in card and "超出合同" in card  # the card says how much is over
    admin.get_by_role("button", name="批准").click()
    admin.get_by_text("超出合同权益；客户已批准。").wait_for()
    db.session.expire_all()
    approved = db.session.get(ServiceRequest, filed.id)
    assert approved.approval == "approved" and approved.status != "cancelled"
    workflow.assign(approved, engineer, engineer, seen_version=approved.version)
    workflow.schedule_visit(
        approved, engineer, visit_at=visit, engineer=engineer, duration_minutes=480, seen_version=None
    )
    db.session.expire_all()
    assert db.session.get(ServiceRequest, filed.id).scheduled_visit_at is not None
    user.context.close()
    admin.context.close()


def test_a_double_click_files_one_request_and_sends_one_reply(page):
    page.goto("/login")
    page.get_by_label("电子邮箱").fill("zhao.lei@huaxin-bank.example")
    page.get_by_label("密码").fill("demo-Portal-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/my/")
    page.goto("/my/new/after_sale/troubleshooting")
    page.get_by_label("标题").fill("Double-clicked core switch fault")
    page.get_by_label("描述").fill("The core switch reboots.")
    page.get_by_label("产品", exact=True).fill("Core switch")
    page.get_by_role("button", name="提交请求").dblclick()
    page.get_by_role("heading", name="处理记录").wait_for()
    page.get_by_label("内容").fill("Sent with a double click.")
    page.get_by_role("button", name="发送").dblclick()
    page.get_by_text("Sent with a double click.").first.wait_for()
    page.wait_for_load_state("networkidle")
    filed = db.session.scalars(
        select(ServiceRequest).where(ServiceRequest.title == "Double-clicked core switch fault")
    ).all()
    assert len(filed) == 1
    replies = db.session.scalars(
        select(TimelineEvent.body).where(
            TimelineEvent.request_id == filed[0].id, TimelineEvent.kind == "public_reply"
        )
    ).all()
    assert replies == ["Sent with a double click."]


def test_missing_fields_are_all_marked_before_sending_and_the_files_stay(page, tmp_path):
    """The on-site form once revealed its errors over six submits, dropping the chosen files each time."""
    plan = tmp_path / "site-plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    _sign_in(page, "li.na@huaxin-bank.example")
    page.goto("/my/new/on_site/installation")
    page.get_by_label("标题").fill("Cabling for the new floor")
    page.get_by_label("附件").set_input_files(str(plan))
    page.get_by_role("button", name="提交请求").click()
    marked = page.locator("[data-client-error]")
    marked.first.wait_for()
    invalid = page.locator("[aria-invalid=true]").evaluate_all("els => els.map(e => e.id)")
    assert {"site_address", "site_contact_name", "site_contact_phone", "preferred_date_from"} <= set(invalid)
    assert "title" not in invalid and page.url.endswith("/my/new/on_site/installation")
    assert page.get_by_label("附件").evaluate("e => e.files.length") == 1  # the chosen file is still chosen

    page.get_by_label("描述").fill("Forty desks on the fifth floor.")
    page.get_by_label("现场地址").fill("北京市西城区金融大街 8 号")
    page.get_by_label("现场联系人", exact=True).fill("王先生")
    page.get_by_label("现场联系人电话").fill("13800000000")
    page.get_by_label("期望开始日期").fill((date.today() + timedelta(days=14)).isoformat())
    if page.locator("#confirm_overage").count():
        page.locator("#confirm_overage").check()
    page.get_by_role("button", name="提交请求").click()
    page.get_by_role("heading", name="处理记录").wait_for()
    assert page.get_by_role("link", name="site-plan.pdf").is_visible()
    assert page.console_errors == []
