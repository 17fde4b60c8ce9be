"""Who is told what: notices derived from timeline events, each person's channel choice, and the email the
task queue sends for them (immediate mode here; the outbox when no SMTP server is configured)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, ServiceRequest
from portal.services.messaging import notifications
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import intake, workflow
from portal.services.requests.workflow import NewRequest
from portal.uploads import file_store
from tests.factories import make_account, make_contract, make_user

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _notices(user) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def _kinds(user) -> list[str]:
    return [n.kind for n in _notices(user)]


def _eml(outbox) -> list:
    return [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]


@pytest.fixture
def team():
    account = make_account(tier="key", name="华信银行", name_en="Huaxin Bank")
    customer = make_user("customer", account=account, full_name="赵磊", locale="zh")
    admin = make_user("customer_admin", account=account, full_name="李娜", locale="en")
    lead = make_user("lead", departments=["after_sales"], full_name="Lead Liu")
    agent = make_user("agent", departments=["after_sales"], full_name="Agent Wang")
    other = make_user("agent", departments=["delivery"], full_name="Not This Department")
    return account, customer, admin, lead, agent, other


def _submit(account, customer) -> ServiceRequest:
    return workflow.submit_request(
        account,
        customer,
        NewRequest("after_sale", "troubleshooting", "Core banking down", priority="high"),
        now=MONDAY_9,
    )


def test_filing_acknowledges_the_requester_and_tells_the_department(team, outbox):
    account, customer, admin, lead, agent, other = team
    request = _submit(account, customer)
    assert _kinds(customer) == ["request_acknowledged"]
    assert _kinds(lead) == ["new_request"] and _kinds(agent) == ["new_request"]
    assert _kinds(other) == [] and _kinds(admin) == []
    ack = _notices(customer)[0]
    assert ack.request_id == request.id and ack.data["ref"] == request.reference
    # The email went through the task queue into the outbox, in the requester's language, with a link
    # built on the configured site address.
    assert ack.email_state == "sent"
    mails = [m for m in _eml(outbox) if m["To"] == customer.email]
    assert len(mails) == 1
    mail = mails[0]
    assert request.reference in mail["Subject"] and "已收到请求" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "赵磊，您好" in text and "最迟将于" in text
    assert f"https://portal.example.test/my/requests/{request.id}" in text and "portal.example.test" in html


def test_staff_replies_reach_the_customer_but_internal_notes_never_do(team, outbox):
    account, customer, admin, lead, agent, other = team
    request = _submit(account, customer)
    workflow.assign(request, agent, lead, seen_version=request.version)
    assert "assigned_to_you" in _kinds(agent)
    workflow.add_reply(request, agent, "The customer's config is a mess", internal=True)
    workflow.add_reply(request, agent, "Please send the logs.")
    replies = [n for n in _notices(customer) if n.kind == "staff_reply"]
    assert len(replies) == 1 and replies[0].data["body"] == "Please send the logs."
    customer_mail = [m for m in _eml(outbox) if m["To"] == customer.email]
    assert any("Please send the logs." in m.get_body(("plain",)).get_content() for m in customer_mail)
    assert not any("config is a mess" in m.get_body(("plain",)).get_content() for m in _eml(outbox))
    # The customer's answer goes to the assignee.
    workflow.add_reply(request, customer, "Logs attached.")
    assert "customer_reply" in _kinds(agent)


def test_waiting_resolved_and_the_approval_flow(team, tmp_path):
    account, customer, admin, lead, agent, other = team
    request = _submit(account, customer)
    workflow.assign(request, agent, agent, seen_version=request.version)
    workflow.change_status(request, "start", agent, seen_version=None)
    workflow.change_status(request, "wait_for_customer", agent, seen_version=None)
    workflow.add_reply(request, customer, "Here you are.")
    workflow.change_status(request, "resolve", agent, seen_version=None)
    assert [k for k in _kinds(customer) if k != "request_acknowledged"] == [
        "waiting_for_you",
        "request_resolved",
    ]
    assert _kinds(agent).count("assigned_to_you") == 0  # nobody is told about what they did themselves

    contract = make_contract(account, entitlements={"on_site_days": 1})
    over = intake.file_request(
        account,
        customer,
        NewRequest(
            "on_site",
            "installation",
            "Ten days of cabling",
            contract=contract,
            details={
                "site_address": "1 Road",
                "site_contact_name": "Zhao",
                "site_contact_phone": "1",
                "preferred_date_from": date.today() + timedelta(days=30),
                "visit_days": Decimal(10),
            },
        ),
        [],
        today=date.today(),
        files=file_store(),
        max_bytes=1,
    )
    assert over.approval == "pending"
    assert "approval_needed" in _kinds(admin) and "approval_needed" not in _kinds(customer)
    intake.decide_approval(over, admin, True)
    decided = [n for n in _notices(customer) if n.kind == "approval_decided"]
    assert len(decided) == 1 and decided[0].data["decision"] == "approved"


@pytest.mark.parametrize(
    "channel, in_app, email_state",
    [("both", True, "sent"), ("in_app", True, "none"), ("email", False, "sent"), ("none", None, None)],
)
def test_each_person_chooses_the_channel_per_kind(team, outbox, channel, in_app, email_state):
    account, customer, *_ = team
    notifications.set_preferences(
        customer, {"request_acknowledged": channel, "new_request": "none", "bogus": "both"}
    )
    _submit(account, customer)
    found = _notices(customer)
    if channel == "none":
        assert found == []
        return
    (notice,) = found
    assert (notice.in_app, notice.email_state) == (in_app, email_state)
    assert bool([m for m in _eml(outbox) if m["To"] == customer.email]) == (email_state == "sent")


def test_preferences_list_only_the_persons_kinds_and_ignore_others(team):
    account, customer, admin, lead, *_ = team
    assert "new_request" not in notifications.preferences(customer)
    assert "staff_reply" not in notifications.preferences(
        lead
    ) and "sla_breached" in notifications.preferences(lead)
    notifications.set_preferences(customer, {"sla_breached": "none", "staff_reply": "loud"})
    assert notifications.preferences(customer)["staff_reply"] == "both"


def test_a_failed_send_leaves_the_action_done_and_the_email_pending_for_retry(team, app):
    account, customer, *_ = team
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT_SECONDS=2)  # nothing listens on port 1
    try:
        request = _submit(account, customer)
    finally:
        app.config.update(MAIL_HOST=None, MAIL_PORT=25, MAIL_TIMEOUT_SECONDS=20)
    assert db.session.get(ServiceRequest, request.id) is not None
    (ack,) = _notices(customer)
    assert ack.email_state == "pending" and ack.email_attempts == 1  # the queue retries it later


@pytest.mark.demo_data
def test_the_demo_company_makes_notices_but_no_email():
    """Its history notified people in the app as real work does, and queued no email for anyone."""
    assert db.session.scalar(select(Notification.id).limit(1)) is not None
    assert db.session.scalar(select(Notification.id).where(Notification.email_state != "none")) is None


def test_a_rolled_back_change_tells_nobody(team, outbox):
    from portal.models import TimelineEvent

    account, customer, admin, lead, agent, other = team
    request = _submit(account, customer)
    before = len(list(outbox.glob("*.eml")))
    db.session.add(
        TimelineEvent(request_id=request.id, kind="public_reply", actor_id=agent.id, body="Never sent")
    )
    db.session.flush()  # the notice exists inside the transaction ...
    assert [n for n in _notices(customer) if n.kind == "staff_reply"]
    db.session.rollback()  # ... and goes with it
    make_user("customer")  # a later, unrelated commit must not send the forgotten email
    assert [n for n in _notices(customer) if n.kind == "staff_reply"] == []
    assert len(list(outbox.glob("*.eml"))) == before


def test_without_a_language_of_their_own_people_are_written_to_in_their_accounts(outbox):
    account = make_account(preferred_language="en")
    customer = make_user("customer", account=account, locale=None)
    _submit(account, customer)
    (mail,) = [m for m in _eml(outbox) if m["To"] == customer.email]
    assert "Request received" in mail["Subject"]


def test_a_notice_counts_days_with_the_right_plural():
    from flask_babel import force_locale

    from portal.models import Notification
    from portal.services.messaging import notifications

    def sentence(days: int, language: str) -> str:
        notice = Notification(
            kind="contract_expiring",
            data={
                "contract": "HX-1",
                "account": "华信银行",
                "account_en": "Huaxin Bank",
                "end": "2026-12-31",
                "days": days,
            },
        )
        with force_locale(language):
            return notifications.describe(notice, str, str)

    assert "(in 1 day)" in sentence(1, "en") and "(in 3 days)" in sentence(3, "en")
    assert "还有 1 天" in sentence(1, "zh")
