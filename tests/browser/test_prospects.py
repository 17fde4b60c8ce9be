"""Prospects in a browser: marketing records a potential key account (told what is missing first) and hands
it to a sales owner, who records the first contact from the board and asks technical support for a
solution design (told what is missing first), which technical support finds in its queue."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Prospect, ServiceRequest
from tests.browser.test_journeys import sign_in, sign_out


def test_marketing_records_and_qualifies_and_sales_makes_the_first_contact(page, demo_written):
    sign_in(page, "marketing@portal.example")
    page.wait_for_url("**/staff/**")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="潜在客户").click()
    page.get_by_role("heading", name="已甄别").wait_for()  # the board, stage by stage
    page.get_by_role("link", name="录入潜在客户").click()
    page.get_by_role("button", name="录入", exact=True).click()
    page.get_by_text("请填写公司名称。").wait_for()
    page.get_by_label("公司", exact=True).fill("天翼物流")
    page.get_by_label("行业").select_option("other")
    page.get_by_label("规模").select_option("large")
    page.get_by_label("来源").select_option("trade_show")
    page.get_by_label("联系人", exact=True).fill("刘经理")
    page.get_by_role("button", name="录入", exact=True).click()
    page.get_by_role("heading", level=1, name="天翼物流").wait_for()
    page.get_by_label("销售负责人").select_option(label="孙伟 Sun Wei")
    page.get_by_role("button", name="甄别通过：移交给该负责人").click()
    page.get_by_text("甄别通过，移交销售").wait_for()
    sign_out(page)

    sign_in(page, "sales@portal.example")
    page.wait_for_url("**/staff/**")
    page.goto("/staff/prospects")
    page.get_by_role("link", name="天翼物流").click()
    page.get_by_label("了解到的情况").fill("电话沟通：12 个仓库需要现场运维。")
    page.get_by_role("button", name="记录", exact=True).click()
    page.get_by_text("电话沟通：12 个仓库需要现场运维。").wait_for()
    db.session.expire_all()
    assert db.session.scalar(select(Prospect.stage).where(Prospect.name == "天翼物流")) == "first_contact"

    page.get_by_role("link", name="申请售前支持").click()
    page.get_by_label("服务", exact=True).select_option("solution_design")
    page.get_by_label("标题").fill("12 个仓库的现场运维方案")
    page.get_by_label("描述").fill("为报价准备方案。")
    page.get_by_role("button", name="提交请求").click()
    page.locator("[data-client-error]").first.wait_for()  # told in place, before anything is sent
    assert page.locator("[aria-invalid=true]").evaluate_all("els => els.map(e => e.id)") == [
        "project_background"
    ]
    page.get_by_label("项目背景").fill("2027 年仓储扩建")
    page.get_by_role("button", name="提交请求").click()
    page.wait_for_url("**/staff/requests/**")
    page.get_by_role("heading", name="天翼物流").wait_for()  # the workspace, with the prospect's card
    db.session.expire_all()
    asked = db.session.scalar(select(ServiceRequest).where(ServiceRequest.title == "12 个仓库的现场运维方案"))
    assert asked is not None and asked.account_id is None and asked.department.code == "tech_support"
    page.get_by_role("link", name="天翼物流").click()
    page.get_by_role("link", name=asked.reference).wait_for()
    sign_out(page)

    sign_in(page, "support@portal.example")
    page.wait_for_url("**/staff/**")
    page.goto("/staff/queue")
    page.get_by_role("link", name=asked.reference).click()
    page.get_by_role("heading", name="天翼物流").wait_for()
    assert [e for e in page.console_errors if "status of 422" not in e] == []
