"""Mail in: replies thread onto their request by token, headers or subject — only from a sender allowed there
— and everything else is kept or ignored, never appended, never answered, never twice."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Attachment, InboundMail, Notification, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.services.errors import InvalidInput
from portal.services.messaging import inbound, mail, threads
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import routing
from tests.factories import department, make_account, make_contract, make_request, make_user

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def customer() -> User:
    return make_user("customer", email="lin@tianyi.example", full_name="林霞")


@pytest.fixture
def request_(customer: User) -> ServiceRequest:
    return make_request(customer, title="打印服务器故障", department_id=department("after_sales").id)


def _reply_address(request: ServiceRequest, user: User) -> str:
    return threads.reply_address(threads.Thread(request.id, user.id))


def message(
    sender: str,
    body: str,
    *,
    to: str = "service@portal.example",
    subject: str = "Re: 回复",
    charset: str = "utf-8",
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject if charset == "utf-8" else Header(subject, charset).encode()
    m["Date"] = format_datetime(utcnow())
    m["Message-ID"] = make_msgid(domain="tianyi.example")
    for name, value in (headers or {}).items():
        m[name] = value
    if html is None:
        m.set_content(body, charset=charset)
    else:
        m.set_content(body)
        m.add_alternative(html, subtype="html")
    return bytes(m)


def receive(raw: bytes, **kwargs: object) -> InboundMail:
    from portal.uploads import file_store

    return inbound.receive(
        raw, files=file_store(), max_bytes=current_app.config["UPLOAD_MAX_BYTES"], **kwargs
    )


def replies(request: ServiceRequest) -> list[TimelineEvent]:
    return list(
        db.session.scalars(
            select(TimelineEvent).where(
                TimelineEvent.request_id == request.id, TimelineEvent.kind == "public_reply"
            )
        )
    )


# --- what goes out ---------------------------------------------------------------------------------------


def test_a_notice_about_a_request_can_be_answered(request_, customer):
    thread = threads.Thread(request_.id, customer.id)
    with mail.as_recipient(customer):
        email = mail.compose(
            customer,
            "notification",
            subject="[x] y",
            thread=thread,
            headline="h",
            sentence="s",
            quote="",
            link="l",
            survey_link="",
            preferences="p",
        )
    sent = mail.to_message(email)
    assert threads.found_in(sent["Reply-To"]) == thread
    assert threads.found_in(sent["Message-ID"]) == thread
    assert sent["In-Reply-To"] == sent["References"] == f"<ka-request-{request_.id}@portal.example>"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert mail.REPLY_ABOVE in email.text and mail.REPLY_ABOVE in email.html
    plain = mail.to_message(mail.Email(to="a@b.example", subject="s", text="t", html="<p>t</p>"))
    assert plain["Reply-To"] is None and threads.found_in(plain["Message-ID"]) is None


def test_a_token_with_a_wrong_signature_names_no_thread(request_, customer):
    good = threads.token(threads.Thread(request_.id, customer.id))
    assert threads.found_in(good.upper()) == threads.Thread(request_.id, customer.id)  # case may change
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert threads.found_in(forged) is None
    assert threads.found_in(f"ka-{request_.id + 1}-{customer.id}-{good[-16:]}") is None


# --- replies ---------------------------------------------------------------------------------------------


def test_a_reply_to_the_reply_address_joins_its_request_without_the_quote(request_, customer):
    body = (
        "Tomorrow at 10 works for us.\n\nBest,\nLin\n\n"
        "On Thu, Dec 3, 2026 at 3:00 PM Key Account Service <service@portal.example> wrote:\n"
        f"> {mail.REPLY_ABOVE}\n> Is tomorrow convenient?\n"
    )
    record = receive(message("Lin Xia <LIN@tianyi.example>", body, to=_reply_address(request_, customer)))
    assert record.outcome == "reply" and record.request_id == request_.id and record.author_id == customer.id
    (reply,) = replies(request_)
    assert reply.body.startswith("Tomorrow at 10 works for us.")
    assert "Is tomorrow convenient" not in reply.body and "wrote:" not in reply.body
    assert reply.actor_id == customer.id and not reply.internal


@pytest.mark.parametrize("charset", ["gb2312", "gb18030", "utf-8"])
def test_a_foxmail_reply_found_by_its_threading_headers(request_, customer, charset):
    ours = threads.message_id(threads.Thread(request_.id, customer.id))
    body = (
        "好的，明天上午可以。\n\n林霞\n\n"
        "------------------ 原始邮件 ------------------\n"
        '发件人: "大客户服务" <service@portal.example>\n'
        "发送时间: 2026年12月3日(星期四) 下午3:00\n"
        f"主题: [{request_.reference}] 有新的回复\n\n请问明天上午方便上门吗？\n"
    )
    raw = message(
        "林霞 <lin@tianyi.example>",
        body,
        subject=f"回复：[{request_.reference}] 有新的回复",
        charset=charset,
        headers={"In-Reply-To": ours, "References": f"<ka-request-{request_.id}@portal.example> {ours}"},
    )
    record = receive(raw)
    assert record.outcome == "reply", record.reason
    assert record.subject == f"回复：[{request_.reference}] 有新的回复"  # RFC 2047 in the charset, decoded
    assert [r.body for r in replies(request_)] == ["好的，明天上午可以。\n\n林霞"]


@pytest.mark.parametrize(
    "quote_header",
    [
        "在 2026年12月3日 15:00，大客户服务 <service@portal.example> 写道：",  # Gmail / Apple Mail in Chinese
        # Outlook
        "From: Key Account Service <service@portal.example>\nSent: Thursday, December 3, 2026 3:00 PM",
        "发件人: 大客户服务 <service@portal.example>\n发送时间: 2026年12月3日 15:00",  # Outlook in Chinese
        "On 3 Dec 2026, at 15:00, Key Account Service <service@portal.example> wrote:",  # Apple Mail
    ],
)
def test_the_usual_clients_quoting_is_cut(quote_header):
    text = f"可以，谢谢。\n\n{quote_header}\n\n> 请问明天上午方便上门吗？\n> 更早的内容\n"
    assert inbound.latest_reply(text) == "可以，谢谢。"


def test_an_html_reply_becomes_plain_text(request_, customer):
    html = (
        "<html><body><p>Please <b>call</b> me.</p><script>alert(1)</script>"
        "<img src='cid:logo'><p>Lin</p></body></html>"
    )
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = "lin@tianyi.example", _reply_address(request_, customer), "Re"
    raw["Message-ID"] = make_msgid(domain="tianyi.example")
    raw.set_content(html, subtype="html")
    assert receive(bytes(raw)).outcome == "reply"
    (reply,) = replies(request_)
    assert "Please **call** me." in reply.body and "<" not in reply.body and "alert" not in reply.body


def test_a_subject_reference_counts_only_from_a_sender_allowed_there(request_, customer):
    subject = f"Re: [{request_.reference}] update"
    stranger = make_user("customer", email="someone@elsewhere.example")  # a user of another account
    for sender, outcome in [
        ("unknown@nowhere.example", "unmatched"),
        (stranger.email, "unmatched"),
        (customer.email, "reply"),
    ]:
        record = receive(message(sender, "Here is more.", subject=subject))
        assert record.outcome == outcome, (sender, record.reason)
    assert [r.actor_id for r in replies(request_)] == [customer.id]


def test_a_token_does_not_let_another_sender_write(request_, customer):
    stranger = make_user("customer", email="someone@elsewhere.example")
    record = receive(message(stranger.email, "Appended?", to=_reply_address(request_, customer)))
    assert record.outcome == "unmatched" and "may not reply" in record.reason
    assert replies(request_) == []


def test_staff_of_the_department_may_answer_by_email(request_, customer):
    agent = make_user("agent", email="agent@portal.example", departments=["after_sales"])
    outsider = make_user("agent", email="sales2@portal.example", departments=["sales"])
    assert receive(message(outsider.email, "x", to=_reply_address(request_, outsider))).outcome == "unmatched"
    assert receive(message(agent.email, "On it.", to=_reply_address(request_, agent))).outcome == "reply"
    assert [r.actor_id for r in replies(request_)] == [agent.id]


@pytest.mark.parametrize("subject", ["Fwd: [{ref}] 有新的回复", "转发: [{ref}] 有新的回复", "FW：[{ref}]"])
def test_a_forward_is_new_mail_not_a_follow_up(request_, customer, subject):
    ensure_reference_data()
    raw = message(
        customer.email,
        "FYI\n\n---------- Forwarded message ---------\nFrom: 王工 <wang@partner.example>\n打印机又坏了",
        subject=subject.format(ref=request_.reference),
        to=_reply_address(request_, customer),
    )
    record = receive(raw)
    assert record.outcome == "filed" and record.request_id != request_.id
    assert replies(request_) == []
    # A forward keeps all it carries: what was forwarded is the point of it.
    assert "打印机又坏了" in db.session.get(ServiceRequest, record.request_id).description


# --- ignored, kept, once ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "auto_reply"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"Return-Path": "<>"},
    ],
)
def test_automatic_mail_is_ignored(request_, customer, headers):
    raw = message(
        customer.email, "I am out of the office.", to=_reply_address(request_, customer), headers=headers
    )
    record = receive(raw)
    assert record.outcome == "ignored"
    assert replies(request_) == []


def test_our_own_notice_come_back_is_ignored(request_, customer):
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = customer.email, _reply_address(request_, customer), "Re"
    raw["Message-ID"] = threads.message_id(threads.Thread(request_.id, customer.id))
    raw.set_content("loop")
    assert receive(bytes(raw)).outcome == "ignored"


def test_a_bounce_is_ignored(request_, customer):
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = (
        "MAILER-DAEMON@tianyi.example",
        "service@portal.example",
        "Undelivered",
    )
    raw["Message-ID"] = make_msgid(domain="tianyi.example")
    raw.set_content("The mail could not be delivered.")
    raw.make_mixed()
    raw.set_type("multipart/report")
    assert receive(bytes(raw)).outcome == "ignored"


def test_a_message_delivered_twice_is_stored_once(request_, customer):
    raw = message(customer.email, "Only once, please.", to=_reply_address(request_, customer))
    first, again = receive(raw), receive(raw)
    assert first.id == again.id
    assert db.session.scalar(select(func.count()).select_from(InboundMail)) == 1
    assert len(replies(request_)) == 1


def test_a_malformed_message_is_kept(store):
    record = receive(b"\x00\xff\xfe garbage without headers \x00")
    assert (record.outcome, record.cause) == ("malformed", "unreadable")
    assert b"".join(store.chunks(record)) == b"\x00\xff\xfe garbage without headers \x00"
    # Broken encodings (a bad RFC 2047 word, an unknown charset, bad base64) are read as far as they go.
    broken = (
        b"From: a@b.example\r\nSubject: =?gb2312?B?zzzz?=\r\n"
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'
        b"Content-Type: text/plain; charset=unknown-8bit\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n"
    )
    kept = receive(broken)
    assert kept.outcome == "unmatched" and kept.sender == "a@b.example"


def test_an_empty_reply_is_ignored(request_, customer):
    body = f"\n\n{mail.REPLY_ABOVE}\n> the notice\n"
    assert receive(message(customer.email, body, to=_reply_address(request_, customer))).outcome == "ignored"
    assert replies(request_) == []


def test_attachments_pass_the_upload_checks(request_, customer):
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = customer.email, _reply_address(request_, customer), "Re: files"
    raw["Message-ID"] = make_msgid(domain="tianyi.example")
    raw.set_content("The report and the log.")
    raw.add_attachment(PDF, maintype="application", subtype="pdf", filename="报告.pdf")
    raw.add_attachment(
        b"MZ\x90\x00binary", maintype="application", subtype="octet-stream", filename="tool.exe"
    )
    raw.add_attachment(b"not a pdf at all", maintype="application", subtype="pdf", filename="fake.pdf")
    record = receive(bytes(raw))
    assert record.outcome == "reply"
    names = db.session.scalars(select(Attachment.original_name).where(Attachment.request_id == request_.id))
    assert list(names) == ["报告.pdf"]
    assert "tool.exe" in record.reason and "fake.pdf" in record.reason


def test_a_forged_sender_acts_for_nobody(request_, customer):
    ensure_reference_data()
    verdict = {
        "Authentication-Results": "mx.portal.example; spf=fail smtp.mailfrom=x; dmarc=fail header.from=x"
    }
    reply = receive(
        message(customer.email, "Pay here.", to=_reply_address(request_, customer), headers=verdict)
    )
    new = receive(message(customer.email, "Pay here.", subject="Invoice", headers=verdict))
    assert [reply.outcome, new.outcome] == ["unmatched", "unmatched"]
    assert [reply.cause, new.cause] == ["unconfirmed_sender", "unconfirmed_sender"]
    assert "dmarc=fail" in reply.reason and new.request_id is None
    assert replies(request_) == []
    passed = {"Authentication-Results": "mx.portal.example; dkim=pass; dmarc=pass header.from=tianyi.example"}
    assert (
        receive(
            message(customer.email, "Real.", to=_reply_address(request_, customer), headers=passed)
        ).outcome
        == "reply"
    )


# --- new requests by email -------------------------------------------------------------------------------


def _filed(record: InboundMail) -> ServiceRequest:
    assert record.outcome == "filed", record.reason
    return db.session.get(ServiceRequest, record.request_id)


@pytest.mark.parametrize("charset", ["gb2312", "gb18030", "utf-8"])
def test_new_mail_from_a_contact_becomes_a_request_with_its_acknowledgement(customer, outbox, charset):
    ensure_reference_data()
    raw = message(
        customer.email,
        "打印服务器又离线了，请尽快处理。\n\n--\n林霞\n天翼科技",
        subject="回复: 打印服务器离线",
        charset=charset,
    )
    request = _filed(receive(raw))
    assert (request.title, request.channel, request.requester_id) == ("打印服务器离线", "email", customer.id)
    assert request.account_id == customer.account_id
    assert request.description.startswith("打印服务器又离线了") and "天翼科技" not in request.description
    assert (request.category, request.subtype, request.priority) == (
        "after_sale",
        "technical_support",
        "normal",
    )
    assert request.department_id is not None and request.first_response_due_at is not None
    (ack,) = db.session.scalars(select(Notification).where(Notification.user_id == customer.id))
    assert ack.kind == "request_acknowledged" and ack.email_state == "sent"
    # The acknowledgement answers their own mail: it sits under it in their mail client.
    (sent,) = [
        m for m in (message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.glob("*.eml"))
    ]
    original = message_from_bytes(raw, policy=policy.default)["Message-ID"]
    assert sent["In-Reply-To"] == original and sent["References"].startswith(original)
    assert threads.found_in(sent["Reply-To"]) == threads.Thread(request.id, customer.id)


def test_new_mail_from_anyone_else_creates_nothing_and_answers_nobody(customer, outbox):
    ensure_reference_data()
    gone = make_user("customer", email="left@tianyi.example", active=False)
    switched_off = make_user("customer", email="a@closed.example", account=make_account(active=False))
    agent = make_user("agent", email="agent@portal.example", departments=["after_sales"])
    for sender, cause in [
        ("stranger@nowhere.example", "unknown_sender"),
        (gone.email, "sender_disabled"),
        (switched_off.email, "sender_disabled"),
        (agent.email, "unknown_sender"),
    ]:
        record = receive(message(sender, "请帮忙看看", subject="新问题"))
        assert (record.outcome, record.cause, record.request_id) == ("unmatched", cause, None), sender
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    assert list(outbox.glob("*.eml")) == []


def test_the_administrator_sets_how_mail_is_filed(customer):
    ensure_reference_data()
    admin = make_user("admin")
    with pytest.raises(InvalidInput) as refused:
        routing.update_mail_intake(True, "on_site", "warranty", "someday", admin)
    assert set(refused.value.errors) == {"service", "priority"}
    assert routing.mail_intake().category == "after_sale"  # nothing changed
    routing.update_mail_intake(True, "after_sale", "troubleshooting", "high", admin)
    request = _filed(receive(message(customer.email, "故障", subject="系统故障")))
    assert (request.subtype, request.priority) == ("troubleshooting", "high")
    routing.update_mail_intake(False, "after_sale", "troubleshooting", "high", admin)
    record = receive(message(customer.email, "again", subject="另一个问题"))
    assert (record.outcome, record.cause) == ("unmatched", "intake_off") and "switched off" in record.reason


def test_a_request_by_email_beyond_the_contract_waits_for_approval():
    ensure_reference_data()
    account = make_account()
    admin = make_user("customer_admin", email="boss@tianyi.example", account=account)
    contract = make_contract(account, entitlements={"support_hours": 100})  # no on-site days
    routing.update_mail_intake(True, "on_site", "installation", "normal", make_user("admin"))
    request = _filed(receive(message(admin.email, "请派人安装", subject="安装新设备")))
    assert request.contract_id == contract.id
    # Even the administrator's own: a mail does not say it means to go over the contract.
    assert (request.over_entitlement, request.approval) == (True, "pending")


def test_a_new_request_by_email_keeps_its_good_files_and_names_the_others(customer):
    ensure_reference_data()
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = customer.email, "service@portal.example", "日志"
    raw["Message-ID"] = make_msgid(domain="tianyi.example")
    raw.set_content("见附件。")
    raw.add_attachment(PDF, maintype="application", subtype="pdf", filename="日志.pdf")
    raw.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="x.exe")
    record = receive(bytes(raw))
    request = _filed(record)
    names = db.session.scalars(select(Attachment.original_name).where(Attachment.request_id == request.id))
    assert list(names) == ["日志.pdf"] and "x.exe" in record.reason
    again = receive(bytes(raw))  # delivered twice: one request
    assert again.id == record.id
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


@pytest.mark.parametrize(
    "subject, text, title",
    [
        ("Re: 回复: Fwd: 问题", "", "问题"),
        ("答复：RE[2]: AW: Status", "", "Status"),
        ("", "\n  first line\nsecond", "first line"),
        ("  ", "", "邮件请求"),  # in the portal's default language
        ("长" * 300, "", "长" * 200),
    ],
)
def test_a_title_from_the_subject(subject, text, title):
    assert inbound.title_of(subject, text) == title
