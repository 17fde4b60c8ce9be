"""The back office in a browser, as an administrator onboards a company without a shell: a new account
(a bad form first, told every problem at once), its contract drafted, its signed copy uploaded and signed
off, its administrator invited by email, who chooses a password from the link, signs in and files a request
against the new contract; and a colleague invited as staff."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, ServiceRequest
from tests.browser.test_journeys import sign_in


def _link_sent_to(app, address: str) -> str:
    outbox = Path(app.config["OUTBOX_FOLDER"])
    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]
    bodies = [m.get_body(("plain",)).get_content() for m in mails if m["To"] == address]
    assert bodies, f"no email to {address}"
    return re.search(r"https?://\S+(/invitation/\S+)", bodies[-1]).group(1)


def test_an_admin_onboards_an_account_and_its_administrator_signs_in(
    app, page, browser, live_server, demo_written, tmp_path
):
    sign_in(page, "admin@portal.example")
    page.wait_for_url("**/admin/")
    page.get_by_role("navigation", name="系统管理").get_by_role("link", name="客户", exact=True).click()
    page.get_by_role("link", name="新建客户").click()
    # Sent without the required fields: every problem at once, in place.
    page.get_by_role("button", name="创建客户").click()
    page.get_by_text("2–20 个大写字母、数字或连字符，例如 HUAXIN。").wait_for()
    assert page.get_by_text("请填写客户名称。").is_visible()
    assert page.get_by_text("请从列表中选择。").count() == 3
    page.get_by_label("代码", exact=True).fill("nova")
    page.get_by_label("名称（中文）", exact=True).fill("新星科技")
    page.get_by_label("名称（英文）", exact=True).fill("Nova Tech")
    page.get_by_label("客户分类", exact=True).select_option("key")
    page.get_by_label("行业", exact=True).select_option("telecom")
    page.get_by_label("规模", exact=True).select_option("medium")
    page.get_by_label("邮箱域名").fill("nova-tech.example")
    page.get_by_role("button", name="创建客户").click()
    page.get_by_role("heading", level=1, name="新星科技").wait_for()

    page.get_by_label("名称", exact=True).fill("钱多多")
    page.get_by_label("电子邮箱").fill("qian@nova-tech.example")
    page.get_by_role("button", name="邀请", exact=True).click()
    page.get_by_text("邀请正在发往 qian@nova-tech.example。").wait_for()
    assert page.get_by_role("cell", name="已邀请，尚未登录").is_visible()

    # Her company's contract: drafted, its signed copy uploaded, signed off.
    page.get_by_role("link", name="新建合同").click()
    page.get_by_label("合同编号").fill("NOVA-2026-01")
    page.get_by_label("标题", exact=True).fill("新星科技年度服务合同")
    page.get_by_label("开始日期").fill((date.today() - timedelta(days=1)).isoformat())
    page.get_by_label("结束日期").fill((date.today() + timedelta(days=364)).isoformat())
    page.get_by_label("金额").fill("80000")
    page.get_by_label("现场服务天数", exact=True).fill("4")
    page.get_by_role("button", name="保存草稿").click()
    page.get_by_role("heading", level=1, name="NOVA-2026-01").wait_for()
    signed = tmp_path / "nova-signed.pdf"
    signed.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("签署件（PDF）").set_input_files(str(signed))
    page.get_by_role("button", name="上传").click()
    page.get_by_role("link", name="nova-signed.pdf").wait_for()
    page.get_by_role("button", name="确认签署：合同生效").click()
    page.get_by_text("NOVA-2026-01 已签署生效").wait_for()

    # The invited administrator, in a browser of her own.
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    invited = context.new_page()
    invited.goto(_link_sent_to(app, "qian@nova-tech.example"))
    invited.get_by_label("新密码").fill("Nova's own password 2026")
    invited.get_by_role("button", name="设置密码").click()
    invited.wait_for_url("**/login**")
    invited.get_by_label("电子邮箱").fill("qian@nova-tech.example")
    invited.get_by_label("密码").fill("Nova's own password 2026")
    invited.get_by_role("button", name="登录").click()
    invited.wait_for_url("**/my/")
    assert invited.get_by_role("heading", level=1).inner_text() == "新星科技"
    # She files a request against the new contract.
    invited.goto("/my/new/on_site/installation")
    invited.get_by_label("标题").fill("Install the racks")
    invited.get_by_label("描述").fill("Two racks in the new data room.")
    invited.get_by_label("合同").select_option(label="NOVA-2026-01 · 新星科技年度服务合同")
    invited.get_by_label("现场地址").fill("上海市浦东新区张江路 1 号")
    invited.get_by_label("现场联系人", exact=True).fill("钱女士")
    invited.get_by_label("现场联系人电话").fill("13900000000")
    invited.get_by_label("期望开始日期").fill((date.today() + timedelta(days=14)).isoformat())
    invited.get_by_role("button", name="提交请求").click()
    invited.get_by_role("heading", name="处理记录").wait_for()
    filed = db.session.scalar(select(ServiceRequest).where(ServiceRequest.title == "Install the racks"))
    assert filed.contract.number == "NOVA-2026-01"
    context.close()
    assert [e for e in page.console_errors if "status of 422" not in e] == []  # the refused form


def test_an_admin_invites_a_colleague_into_a_department(app, page, demo_written):
    sign_in(page, "admin@portal.example")
    page.wait_for_url("**/admin/")
    page.goto("/admin/staff")
    page.get_by_role("link", name="邀请同事").click()
    page.get_by_label("名称", exact=True).fill("吴工 Wu Gong")
    page.get_by_label("电子邮箱").fill("wu.gong@portal.example")
    page.get_by_label("角色", exact=True).select_option("agent")
    page.get_by_role("button", name="邀请").click()
    page.get_by_text("服务专员和部门负责人至少属于一个部门。").wait_for()  # no department chosen
    page.get_by_label("技术支持部").check()
    page.get_by_role("button", name="邀请").click()
    page.get_by_role("heading", level=1, name="吴工 Wu Gong").wait_for()
    assert page.get_by_label("技术支持部").is_checked()
    assert "/invitation/" in _link_sent_to(app, "wu.gong@portal.example")
    assert [e for e in page.console_errors if "status of 422" not in e] == []  # the refused form


def test_an_admin_onboards_an_account_with_its_contract_from_the_workbook(page, demo_written):
    folder = Path(__file__).resolve().parents[2] / "docs" / "import-example"
    sign_in(page, "admin@portal.example")
    page.wait_for_url("**/admin/")
    page.get_by_role("navigation", name="系统管理").get_by_role("link", name="导入与导出").click()
    page.get_by_label("工作簿（.xlsx）或 CSV 文件").set_input_files(
        sorted(str(p) for p in folder.glob("*.csv"))
    )
    page.get_by_role("button", name="检查").click()
    page.get_by_role("heading", name="所有行均有效。").wait_for()
    assert (
        db.session.scalar(select(Account).where(Account.code == "XINGHE")) is None
    )  # a check writes nothing
    # The chosen files are still chosen: import them.
    page.get_by_role("button", name="导入", exact=True).click()
    page.get_by_role("heading", name="已导入。").wait_for()
    db.session.expire_all()
    account = db.session.scalar(select(Account).where(Account.code == "XINGHE"))
    assert account is not None and len(account.users) == 2
    page.goto(f"/admin/accounts/{account.id}")
    page.get_by_role("link", name="XH-2027-001").click()
    page.get_by_role("heading", level=1, name="XH-2027-001").wait_for()
    assert page.get_by_label("培训场次", exact=True).input_value() == "2"
    assert page.console_errors == []
