"""Survey journey: staff resolve a request, the customer answers the emailed survey link without signing in,
and a low score appears as a follow-up for the account manager."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import FollowUpTask, ServiceRequest, User
from tests.browser.test_journeys import sign_in, sign_out


def test_resolve_answer_by_link_and_the_follow_up(page, app, browser, live_server):
    lead = db.session.scalar(select(User).where(User.email == "support@portal.example"))
    request = db.session.scalar(
        select(ServiceRequest)
        .join(User, User.id == ServiceRequest.requester_id)
        .where(
            User.email.like("%@huaxin-bank.example"),
            ServiceRequest.department_id == lead.departments[0].id,
            ServiceRequest.status.in_(("open", "in_progress")),
        )
        .order_by(ServiceRequest.id)
        .limit(1)
    )
    assert request is not None, "the demo has an open technical-support request of 华信银行"
    customer = request.requester
    outbox = Path(app.config["OUTBOX_FOLDER"])

    sign_in(page, lead.email)
    page.goto(f"/staff/requests/{request.id}")
    page.get_by_role("button", name="标记为已解决").click()
    page.locator(".facts").get_by_text("已解决").wait_for()
    sign_out(page)

    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in outbox.glob("*.eml")]
    resolved = [
        m
        for m in mails
        if m["To"] == customer.email and request.reference in m["Subject"] and "已解决" in m["Subject"]
    ]
    assert len(resolved) == 1
    link = re.search(r"https?://\S+(/survey/\S+)", resolved[0].get_body(("plain",)).get_content()).group(1)

    stranger = browser.new_context(base_url=live_server, locale="zh-CN").new_page()  # not signed in
    stranger.goto(link)
    stranger.get_by_role("heading", name="服务满意度调查").wait_for()
    assert request.reference in stranger.locator("main").inner_text()
    stranger.get_by_label("1 · 非常不满意").check()
    stranger.get_by_label("否").check()
    stranger.get_by_role("textbox").fill("等了太久。")
    stranger.get_by_role("button", name="提交答案").click()
    stranger.get_by_role("heading", name="谢谢").wait_for()
    stranger.goto(link)
    assert "已经回答过了" in stranger.locator("main").inner_text()
    stranger.context.close()

    task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.note.contains("等了太久")))
    assert task is not None and task.reason == "low_csat"
    sign_in(page, "sales@portal.example")
    page.goto("/staff/accounts")
    follow_ups = page.locator("section", has=page.get_by_role("heading", name="调查低分后的跟进"))
    follow_ups.get_by_text("等了太久。").wait_for()
    follow_ups.get_by_role("link", name="华信银行").first.click()
    page.get_by_role("button", name="标为完成").first.click()
    page.get_by_text("跟进已完成。").wait_for()
    db.session.expire_all()
    assert db.session.get(FollowUpTask, task.id).done_at is not None
    assert page.console_errors == []
