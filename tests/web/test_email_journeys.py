"""Email as people receive it, read back from a real SMTP server on loopback (aiosmtpd) or, with no SMTP
configured, from the .eml files in the outbox: right recipients, language, links, no internal data."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import LoginSession, ServiceRequest
from portal.models.base import utcnow
from portal.services.messaging import reminders
from portal.services.reference_data import ensure_reference_data
from tests.conftest import _CSRF, sign_in
from tests.factories import make_account, make_user


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _file_after_sale(client, title: str) -> ServiceRequest:
    token = client.csrf_token("/my/new/after_sale/troubleshooting")
    response = client.post(
        "/my/new/after_sale/troubleshooting",
        data={
            "csrf_token": token,
            "title": title,
            "description": "Since this morning.",
            "priority": "normal",
            "contract": "",
            "product": "Core switch",
            "serial_number": "SN-1",
            "severity": "major",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.title == title))


def test_file_reply_and_internal_note_over_smtp(client, login_as, smtp_server):
    account = make_account(name="华信银行", name_en="Huaxin Bank")
    customer = make_user("customer", account=account, full_name="Zhao Lei", locale="en")
    agent = make_user("agent", departments=["after_sales"], full_name="王工", locale="zh")
    login_as(customer)
    request = _file_after_sale(client, "Core switch drops packets")

    (ack,) = smtp_server.to(customer.email)
    assert ack["Subject"].startswith(f"[{request.reference}] Request received")
    assert "Hello Zhao Lei," in _text(
        ack
    ) and f"https://portal.example.test/my/requests/{request.id}" in _text(ack)
    assert ack.get_body(("html",)) is not None
    # The department hears of it in its own language, with a link to the staff workspace.
    (new,) = smtp_server.to(agent.email)
    assert "部门新请求" in new[
        "Subject"
    ] and f"https://portal.example.test/staff/requests/{request.id}" in _text(new)

    client.post_form("/logout", token_from="/my/")
    login_as(agent)
    page = f"/staff/requests/{request.id}"
    for body, internal in (
        ("Their firmware is ancient, do not tell them", "y"),
        ("Please restart the switch.", ""),
    ):
        db.session.expire_all()
        version = db.session.get(ServiceRequest, request.id).version
        data = {"body": body, "version": str(version)}
        if internal:
            data["internal"] = internal
        assert client.post_form(f"{page}/reply", token_from=page, data=data).status_code in (200, 303)
    replies = [m for m in smtp_server.to(customer.email) if "Reply from our team" in m["Subject"]]
    assert len(replies) == 1 and "Please restart the switch." in _text(replies[0])
    everything_to_customer = "".join(m.as_string() for m in smtp_server.to(customer.email))
    assert "firmware is ancient" not in everything_to_customer
    assert all(customer.email not in rcpts for rcpts, m in smtp_server.messages if "ancient" in m.as_string())


def test_a_breach_alerts_the_lead_by_email_exactly_once(smtp_server):
    from portal.services.requests import workflow
    from portal.services.requests.workflow import NewRequest

    lead = make_user("lead", departments=["after_sales"], locale="en")
    customer = make_user("customer")
    request = workflow.submit_request(
        customer.account, customer, NewRequest("after_sale", "troubleshooting", "Down", priority="urgent")
    )
    with time_machine.travel(request.resolution_due_at + timedelta(minutes=5), tick=False):
        reminders.sla_sweep()
        reminders.sla_sweep()
    breached = [m for m in smtp_server.to(lead.email) if "SLA breached" in m["Subject"]]
    assert len(breached) == 1 and request.reference in _text(breached[0])


def test_without_smtp_the_messages_are_readable_eml_files(client, login_as, outbox):
    customer = login_as("customer", full_name="Zhao Lei", locale="en")
    request = _file_after_sale(client, "Printer jam")
    messages = [message_from_bytes(p.read_bytes(), policy=default) for p in outbox.glob("*.eml")]
    mine = [m for m in messages if m["To"] == customer.email]
    assert len(mine) == 1 and request.reference in mine[0]["Subject"]
    assert "Printer jam" in _text(mine[0])


# --- password reset --------------------------------------------------------------------------------------


def _reset_link(smtp_server, email: str) -> str:
    (message,) = smtp_server.to(email)
    return re.search(r"https://portal\.example\.test(/password/reset/\S+)", _text(message)).group(1)


def test_forgot_password_answers_the_same_and_mails_a_one_time_link(client, smtp_server):
    user = make_user("customer", email="known@example.com", locale="en")
    answers = []
    for address in ("known@example.com", "nobody@example.com"):
        evil = {"Host": "evil.example"}  # links never follow the Host header
        form = client.get("/password/forgot", headers=evil).get_data(as_text=True)
        token = _CSRF.search(form).group(1)
        response = client.post("/password/forgot", data={"csrf_token": token, "email": address}, headers=evil)
        assert response.status_code == 303
        page = client.get("/login", headers=evil).get_data(as_text=True).replace(address, "ADDRESS")
        # CSRF tokens carry a timestamp; everything else on the page must be the same.
        answers.append(
            re.sub(r'(name="csrf_token" (?:type="hidden" )?value="|"X-CSRFToken": ")[^"]+', r"\1TOKEN", page)
        )
    assert answers[0] == answers[1]
    assert len(smtp_server.messages) == 1 and smtp_server.to("known@example.com")
    assert "evil.example" not in smtp_server.messages[0][1].as_string()

    old_browser = sign_in(client.application.test_client(), user.email)  # noqa: F841  (a session to revoke)
    path = _reset_link(smtp_server, user.email)
    assert client.get(path).status_code == 200
    token = client.csrf_token(path)
    assert client.post(path, data={"csrf_token": token, "password": "short"}).status_code == 422
    response = client.post(path, data={"csrf_token": token, "password": "a brand new password"})
    assert response.status_code == 303
    assert client.get(path).status_code == 410  # works once
    assert (
        db.session.scalar(
            select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        )
        is None
    )
    assert sign_in(client, user.email, "a brand new password").status_code == 303


def test_a_reset_link_expires_after_an_hour_and_a_tampered_one_is_refused(client, smtp_server):
    make_user("customer", email="late@example.com")
    client.post_form("/password/forgot", token_from="/password/forgot", data={"email": "late@example.com"})
    path = _reset_link(smtp_server, "late@example.com")
    assert client.get(path[:-2] + ("aa" if not path.endswith("aa") else "bb")).status_code == 410
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert client.get(path).status_code == 410


def test_an_invitation_is_emailed_in_the_invitees_language(client, login_as, smtp_server):
    admin = login_as("customer_admin", full_name="李娜")
    response = client.post_form(
        "/my/users",
        token_from="/my/users",
        data={"email": "new.colleague@example.com", "full_name": "New Colleague", "role": "customer"},
    )
    assert response.status_code == 303
    (invitation,) = smtp_server.to("new.colleague@example.com")
    assert "邀请您加入大客户服务门户" in invitation["Subject"] and "李娜" in _text(invitation)
    link = re.search(r"https://portal\.example\.test(/invitation/\S+)", _text(invitation)).group(1)
    assert client.get(link).status_code == 200
    assert admin.account.display_name("zh") in _text(invitation)
