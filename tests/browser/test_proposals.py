"""The pipeline to a contract in a browser: marketing records a prospect and hands it to sales; sales makes
the first contact, analyses the needs, drafts the proposal (told what is missing first) and sends it; the
prospect's contact opens the emailed link in a browser of her own and accepts; the administrator uploads the
signed copy of the contract it made and signs it off; the contact, invited by email, chooses her password
and files a request against the new contract."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, Contract, Proposal, ServiceRequest
from tests.browser.test_journeys import sign_in, sign_out

CONTACT = "lin@tianyi-logistics.example"


def _link_to(app, address: str, path: str) -> str:
    outbox = Path(app.config["OUTBOX_FOLDER"])
    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]
    bodies = [m.get_body(("plain",)).get_content() for m in mails if m["To"] == address]
    found = [re.search(rf"https?://\S+({path}\S+)", body) for body in bodies]
    found = [f.group(1) for f in found if f]
    assert found, f"no {path} link to {address}"
    return found[-1]


def test_a_prospect_becomes_a_customer_filing_a_request(
    app, page, browser, live_server, demo_written, tmp_path
):
    sign_in(page, "marketing@portal.example")
    page.wait_for_url("**/staff/**")
    page.goto("/staff/prospects/new")
    page.get_by_label("公司", exact=True).fill("天翼物流")
    page.get_by_label("行业").select_option("other")
    page.get_by_label("规模").select_option("large")
    page.get_by_label("来源").select_option("referral")
    page.get_by_label("联系人", exact=True).fill("林霞")
    page.get_by_label("联系人邮箱").fill(CONTACT)
    page.get_by_role("button", name="录入", exact=True).click()
    page.get_by_role("heading", level=1, name="天翼物流").wait_for()
    page.get_by_label("销售负责人").select_option(label="孙伟 Sun Wei")
    page.get_by_role("button", name="甄别通过：移交给该负责人").click()
    page.get_by_text("甄别通过，移交销售").wait_for()
    prospect_url = page.url
    sign_out(page)

    sign_in(page, "sales@portal.example")
    page.wait_for_url("**/staff/**")
    page.goto(prospect_url)
    page.get_by_label("了解到的情况").fill("电话沟通：12 个仓库需要现场运维。")
    page.get_by_role("button", name="记录", exact=True).click()
    page.get_by_text("电话沟通：12 个仓库需要现场运维。").wait_for()
    page.get_by_label("了解到的情况").fill("需求分析：每年 10 天现场服务，200 小时技术支持。")
    page.get_by_role("button", name="记录", exact=True).click()
    # The note's answer is a page of its own: clicking on before it came raced it (the link's page
    # could be replaced by the note's, and the form below never came).
    page.get_by_text("需求分析：每年 10 天现场服务，200 小时技术支持。").wait_for()
    page.get_by_role("link", name="起草方案").click()
    page.wait_for_url("**/proposals/new**")
    # Sent empty-handed: every problem at once.
    page.get_by_label("现场服务天数", exact=True).fill("10")
    page.get_by_role("button", name="保存草稿").click()
    page.get_by_text("请填写方案标题。").wait_for()
    assert page.get_by_text("请填写单价。").is_visible()
    page.get_by_label("标题", exact=True).fill("天翼物流仓储运维服务方案")
    page.get_by_label("每天单价").fill("9000")
    page.get_by_label("技术支持工时", exact=True).fill("200")
    page.get_by_label("每小时单价").fill("450")
    page.get_by_label("折扣（%）").fill("5")
    page.get_by_label("合同开始日期").fill(date.today().isoformat())
    page.get_by_label("合同结束日期").fill((date.today() + timedelta(days=364)).isoformat())
    page.get_by_role("button", name="保存草稿").click()
    page.get_by_role("heading", level=1, name=re.compile("天翼物流仓储运维服务方案")).wait_for()
    page.get_by_role("button", name="发送方案").click()
    page.get_by_text(f"已发送给 {CONTACT}。").wait_for()
    sign_out(page)

    # The contact, in a browser of her own, from the email.
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    contact = context.new_page()
    contact.goto(_link_to(app, CONTACT, "/my/proposals/review/"))
    contact.get_by_text("¥171,000.00").first.wait_for()  # 10 × 9,000 + 200 × 450, less 5 %
    contact.get_by_role("button", name="接受方案").click()
    contact.get_by_text("请填写姓名。").wait_for()
    contact.get_by_label("您的姓名").fill("林霞")
    contact.get_by_role("button", name="接受方案").click()
    contact.get_by_text("谢谢：方案已接受").wait_for()
    db.session.expire_all()
    account = db.session.scalar(select(Account).where(Account.name == "天翼物流"))
    proposal = db.session.scalar(select(Proposal).where(Proposal.title == "天翼物流仓储运维服务方案"))
    assert proposal.state == "accepted" and proposal.contract.account_id == account.id

    # The contract it made: signed copy uploaded, signed off.
    sign_in(page, "admin@portal.example")
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/contracts/{proposal.contract_id}")
    signed = tmp_path / "tianyi-signed.pdf"
    signed.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("签署件（PDF）").set_input_files(str(signed))
    page.get_by_role("button", name="上传").click()
    page.get_by_role("link", name="tianyi-signed.pdf").wait_for()
    page.get_by_role("button", name="确认签署：合同生效").click()
    page.get_by_text("已签署生效").wait_for()
    number = db.session.get(Contract, proposal.contract_id).number

    # Invited by email as the account's administrator, she signs in and files a request.
    contact.goto(_link_to(app, CONTACT, "/invitation/"))
    contact.get_by_label("新密码").fill("Tianyi's own password 2026")
    contact.get_by_role("button", name="设置密码").click()
    contact.wait_for_url("**/login**")
    contact.get_by_label("电子邮箱").fill(CONTACT)
    contact.get_by_label("密码").fill("Tianyi's own password 2026")
    contact.get_by_role("button", name="登录").click()
    contact.wait_for_url("**/my/")
    contact.goto("/my/new/on_site/installation")
    contact.get_by_label("标题").fill("Install the scanners")
    contact.get_by_label("描述").fill("Twelve depots.")
    contact.get_by_label("合同").select_option(label=f"{number} · 天翼物流仓储运维服务方案")
    contact.get_by_label("现场地址").fill("上海市浦东新区张江路 1 号")
    contact.get_by_label("现场联系人", exact=True).fill("林女士")
    contact.get_by_label("现场联系人电话").fill("13900000000")
    contact.get_by_label("期望开始日期").fill((date.today() + timedelta(days=14)).isoformat())
    contact.get_by_role("button", name="提交请求").click()
    contact.get_by_role("heading", name="处理记录").wait_for()
    filed = db.session.scalar(select(ServiceRequest).where(ServiceRequest.title == "Install the scanners"))
    assert filed.contract.number == number and filed.account_id == account.id
    context.close()
    assert [e for e in page.console_errors if "status of 422" not in e] == []
